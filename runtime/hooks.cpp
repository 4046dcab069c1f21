#include "runtime/hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/reap.hpp"

namespace berth::runtime {
namespace {

[[noreturn]] void exec_hook(const oci::Hook& h, int stdin_fd) {
    // Only the async-signal-safe subset from here on: we are a fork child.
    if (::dup2(stdin_fd, 0) < 0) ::_exit(126);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> argv, envp;
    if (h.args.empty()) argv.push_back(const_cast<char*>(h.path.c_str()));
    for (const auto& a : h.args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : h.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    ::execve(h.path.c_str(), argv.data(), envp.data());
    ::_exit(127);
}

// Waits up to timeout_ms; on expiry kills and reaps. Returns the wait status
// or -1 on timeout.
int wait_bounded(pid_t pid, int timeout_ms) {
    fs::Fd pidfd(int(::syscall(SYS_pidfd_open, pid, 0)));
    const std::int64_t deadline = clock::monotonic_ms() + timeout_ms;
    for (;;) {
        if (auto status = proc::try_reap(pid)) return *status;
        std::int64_t left = deadline - clock::monotonic_ms();
        if (left <= 0) {
            ::kill(pid, SIGKILL);
            proc::wait_exit(pid);
            return -1;
        }
        if (pidfd) {
            pollfd p{pidfd.get(), POLLIN, 0};
            ::poll(&p, 1, int(std::min<std::int64_t>(left, 1000)));
        } else {
            timespec ts{0, 5 * 1000 * 1000};
            ::nanosleep(&ts, nullptr);
        }
    }
}

}  // namespace

std::string hook_state_json(const oci::Spec& spec, const std::string& id, pid_t pid, const std::string& bundle,
                            const char* status) {
    nlohmann::json j = {{"ociVersion", spec.oci_version}, {"id", id},         {"status", status},
                        {"pid", pid},                     {"bundle", bundle}, {"annotations", spec.annotations}};
    return j.dump();
}

void run_hooks(const std::vector<oci::Hook>& hooks, const char* phase, const std::string& state_json) {
    for (size_t i = 0; i < hooks.size(); ++i) {
        const oci::Hook& h = hooks[i];
        const std::string what = fmt::format("hooks.{}[{}] `{}`", phase, i, h.path);
        // A socket rather than a pipe: MSG_NOSIGNAL keeps a hook that closes
        // its stdin early from raising SIGPIPE in PID 1.
        int p[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0) throw_errno(what + ": socketpair");
        fs::Fd rd(p[0]), wr(p[1]);
        pid_t pid = ::fork();
        if (pid < 0) throw_errno(what + ": fork");
        if (pid == 0) exec_hook(h, rd.get());
        rd.reset();
        // The state is far below the socket buffer: this send cannot block.
        ssize_t n = ::send(wr.get(), state_json.data(), state_json.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)n;
        wr.reset();
        const int timeout = h.timeout.value_or(kDefaultHookTimeoutSeconds);
        int status = wait_bounded(pid, timeout * 1000);
        if (status == -1) throw Error(fmt::format("{}: timed out after {} s", what, timeout), ETIMEDOUT);
        if (WIFSIGNALED(status)) throw Error(fmt::format("{}: killed by signal {}", what, WTERMSIG(status)), ECANCELED);
        if (WEXITSTATUS(status) == 127) throw Error(fmt::format("{}: cannot execute", what), ENOEXEC);
        if (WEXITSTATUS(status) != 0)
            throw Error(fmt::format("{}: exited with status {}", what, WEXITSTATUS(status)), ECANCELED);
    }
}

}  // namespace berth::runtime
