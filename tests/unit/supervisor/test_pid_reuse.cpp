// `stop` and `kill` reach a service through its pidfd: when its pid has been
// reaped and handed to another process, that process is never signalled.
// Needs root (a pid namespace makes the reuse certain through ns_last_pid).
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "../skip.hpp"
#include "fake.hpp"

using namespace testing;

namespace {

// Starts `sleep` for real and keeps a pidfd to it, as the runtime does.
struct ForkingLauncher : Launcher {
    void start(Container&, Done done) override {
        pid_t pid = ::fork();
        if (pid < 0) throw berth::Error("fork", errno);
        if (pid == 0) {
            ::execl("/bin/sleep", "sleep", "100", (char*)nullptr);
            ::_exit(127);
        }
        LaunchResult r;
        r.pid = pid;
        r.pidfd.reset(int(::syscall(SYS_pidfd_open, pid, 0)));
        done(std::move(r));
    }
    void cancel(Container&) override {}
    bool reaped(pid_t, int, int) override { return false; }
};

// Runs as pid 1 of a fresh pid namespace; the exit status says what went wrong.
int reuse_scenario(bool use_kill) {
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) return 10;
    if (::mount("proc", "/proc", "proc", 0, nullptr) < 0) return 11;
    TempTree t;
    t.bundle("services", "victim");
    EventLoop loop(no_signals(), [](const signalfd_siginfo&) {});
    ForkingLauncher l;
    Supervisor s(loop, l, settings(t.root, 100));
    s.boot();
    pid_t victim = -1;
    for (auto& c : s.containers()) victim = c.pid;
    if (victim <= 0) return 12;
    // The service dies and its pid is reaped before PID 1 has heard of it.
    ::kill(victim, SIGKILL);
    if (::waitpid(victim, nullptr, 0) != victim) return 13;
    // The next process gets the very same pid.
    if (!berth::fs::try_write_file("/proc/sys/kernel/ns_last_pid", std::to_string(victim - 1))) return 14;
    pid_t bystander = ::fork();
    if (bystander == 0) {
        ::pause();
        ::_exit(0);
    }
    if (bystander != victim) return 15;
    std::string refused = use_kill ? s.kill("victim", SIGKILL) : s.stop("victim");
    if (!refused.empty()) return 16;
    ::usleep(100 * 1000);
    int status = 0;
    pid_t r = ::waitpid(bystander, &status, WNOHANG);
    ::kill(bystander, SIGKILL);
    return r == 0 ? 0 : 20;  // 20: the bystander was signalled
}

int run_in_pid_namespace(bool use_kill) {
    pid_t outer = ::fork();
    if (outer == 0) {
        if (::unshare(CLONE_NEWPID | CLONE_NEWNS) < 0) ::_exit(30);
        pid_t inner = ::fork();
        if (inner == 0) ::_exit(reuse_scenario(use_kill));
        int st = 0;
        ::waitpid(inner, &st, 0);
        ::_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 31);
    }
    int st = 0;
    ::waitpid(outer, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 32;
}

}  // namespace

TEST_CASE("stop and kill never signal a reused pid") {
    if (::geteuid() != 0) {
        BERTH_SKIP("needs root for a pid namespace");
    }
    CHECK(run_in_pid_namespace(false) == 0);
    CHECK(run_in_pid_namespace(true) == 0);
}
