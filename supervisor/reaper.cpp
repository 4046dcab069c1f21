#include "supervisor/reaper.hpp"

#include <sys/wait.h>

#include <cerrno>

namespace berth::supervisor {

int reap_children(const std::function<void(pid_t, int, int)>& on_exit) {
    int n = 0;
    for (;;) {
        siginfo_t si{};
        if (::waitid(P_ALL, 0, &si, WEXITED | WNOHANG) < 0) {
            if (errno == EINTR) continue;
            break;  // ECHILD: nothing left
        }
        if (si.si_pid == 0) break;  // children exist, none has exited
        ++n;
        on_exit(si.si_pid, si.si_code, si.si_status);
    }
    return n;
}

}  // namespace berth::supervisor
