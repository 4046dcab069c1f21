#include "common/reap.hpp"

#include <sys/wait.h>

#include <cerrno>

#include "common/error.hpp"

namespace berth::proc {

int wait_exit(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return status;
}

std::optional<int> try_reap(pid_t pid) {
    for (;;) {
        int status = 0;
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) return status;
        if (r == 0) return std::nullopt;
        if (errno != EINTR) throw_errno("waitpid " + std::to_string(pid));
    }
}

}  // namespace berth::proc
