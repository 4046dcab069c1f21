// RuntimeLauncher's prepared starts with real launch processes: a
// preparation reports nothing until start(), and a discarded one ends.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <optional>

#include "common/fs.hpp"
#include "init/container_launcher.hpp"
#include "../temp_dir.hpp"

using namespace berth;

using berth::test::TempDir;

namespace {

sigset_t no_signals() {
    sigset_t s;
    sigemptyset(&s);
    return s;
}

// The one child of this test process, once it ended within ms; 0 if none did.
pid_t ended_child(int ms, int& status) {
    for (int i = 0; i < ms / 10; ++i) {
        pid_t p = ::waitpid(-1, &status, WNOHANG);
        if (p != 0) return p;
        ::usleep(10000);
    }
    return 0;
}

}  // namespace

TEST_CASE("a prepared start waits for start() and reports then") {
    TempDir d;  // a bundle without config.json: the launch fails, but only at its turn
    supervisor::EventLoop loop(no_signals(), [](const signalfd_siginfo&) {});
    init::RuntimeLauncher launcher(loop, {d.path() + "/seccomp", d.path() + "/prepared"});
    supervisor::Container c;
    c.name = "000-first";
    c.bundle = d.path();
    launcher.prepare(c);
    CHECK(launcher.prepared() == 1);
    int status = 0;
    CHECK(ended_child(300, status) == 0);  // still waiting for its go
    std::optional<supervisor::LaunchResult> got;
    launcher.start(c, [&](supervisor::LaunchResult r) { got = std::move(r); });
    CHECK(launcher.prepared() == 0);
    for (int i = 0; i < 200 && !got; ++i) loop.run_once(20);
    REQUIRE(got);
    CHECK(got->error.find("config.json") != std::string::npos);
    pid_t p = ended_child(2000, status);
    REQUIRE(p > 0);
    CHECK(WIFEXITED(status));
    CHECK(launcher.reaped(p, CLD_EXITED, 0));
}

TEST_CASE("a discarded preparation leaves no process behind") {
    TempDir d;
    supervisor::EventLoop loop(no_signals(), [](const signalfd_siginfo&) {});
    init::RuntimeLauncher launcher(loop, {d.path() + "/seccomp", d.path() + "/prepared"});
    supervisor::Container c;
    c.name = "svc";
    c.bundle = d.path();
    launcher.prepare(c);
    launcher.discard(c);
    CHECK(launcher.prepared() == 0);
    int status = 0;
    pid_t p = ended_child(2000, status);
    REQUIRE(p > 0);
    CHECK(launcher.reaped(p, CLD_KILLED, SIGKILL));
    CHECK(ended_child(100, status) == -1);  // no other child: nothing was made
}
