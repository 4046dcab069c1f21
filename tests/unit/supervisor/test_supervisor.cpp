#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "supervisor/supervisor.hpp"
#include "fake.hpp"

using namespace berth::supervisor;
namespace fs = berth::fs;

namespace {

using testing::TempTree;

// The shared fake, with the error text this file's checks expect.
struct FakeLauncher : testing::FakeLauncher {
    void start(Container& c, Done done) override {
        started.push_back(c.name);
        LaunchResult r;
        for (auto& b : broken)
            if (b == c.name) r.error = c.bundle + "/config.json: process.args: required";
        if (r.error.empty()) r.pid = next++;
        done(std::move(r));
    }
};

Settings settings_for(const std::string& root, Millis kill_wait) {
    Settings s;
    s.containers_root = root;
    s.kill_wait_ms = kill_wait;
    return s;
}

sigset_t no_signals() {
    sigset_t s;
    sigemptyset(&s);
    return s;
}

pid_t pid_of(const Supervisor& s, const std::string& name) {
    for (auto& c : s.containers())
        if (c.name == name) return c.pid;
    return -1;
}

const Container& get(const Supervisor& s, const std::string& name) {
    for (auto& c : s.containers())
        if (c.name == name) return c;
    throw std::runtime_error("no " + name);
}

}  // namespace

TEST_CASE("onboot containers run one at a time in lexical order, then all services") {
    TempTree t;
    t.bundle("onboot", "001-second");
    t.bundle("onboot", "000-first");
    t.bundle("services", "web");
    t.bundle("services", "db");
    EventLoop loop(no_signals(), [](const signalfd_siginfo&) {});
    FakeLauncher l;
    Supervisor s(loop, l, settings_for(t.root, 100));
    s.boot();
    REQUIRE(l.started == std::vector<std::string>{"000-first"});
    s.child_exited(pid_of(s, "000-first"), CLD_EXITED, 0);
    REQUIRE(l.started == std::vector<std::string>{"000-first", "001-second"});
    s.child_exited(pid_of(s, "001-second"), CLD_EXITED, 3);
    // A failing onboot container does not stop the boot.
    CHECK(l.started == std::vector<std::string>{"000-first", "001-second", "db", "web"});
    CHECK(get(s, "001-second").describe_exit() == "exit status 3");
    CHECK(get(s, "000-first").succeeded());
    CHECK(get(s, "web").state == State::ready);
}

TEST_CASE("a broken bundle fails alone") {
    TempTree t;
    t.bundle("onboot", "000-bad");
    t.bundle("onboot", "001-good");
    t.bundle("services", "broken");
    t.bundle("services", "fine");
    EventLoop loop(no_signals(), [](const signalfd_siginfo&) {});
    FakeLauncher l;
    l.broken = {"000-bad", "broken"};
    Supervisor s(loop, l, settings_for(t.root, 100));
    s.boot();
    CHECK(get(s, "000-bad").state == State::failed);
    CHECK(get(s, "000-bad").describe_exit().find("process.args") != std::string::npos);
    REQUIRE(get(s, "001-good").state == State::running);
    s.child_exited(pid_of(s, "001-good"), CLD_EXITED, 0);
    CHECK(get(s, "broken").state == State::backoff);  // a start failure follows the restart policy
    CHECK(get(s, "broken").error.find("process.args") != std::string::npos);
    CHECK(get(s, "fine").state == State::ready);
}

TEST_CASE("shutdown: onshutdown containers first, then services, completes when all exit") {
    TempTree t;
    t.bundle("services", "web");
    t.bundle("onshutdown", "000-save");
    EventLoop loop(no_signals(), [](const signalfd_siginfo&) {});
    FakeLauncher l;
    Supervisor s(loop, l, settings_for(t.root, 100));
    s.boot();
    s.request_shutdown(PowerAction::poweroff);
    CHECK(l.started.back() == "000-save");
    CHECK(get(s, "web").state == State::ready);  // not stopped before onshutdown is done
    s.request_shutdown(PowerAction::reboot);       // second request: ignored
    s.child_exited(pid_of(s, "000-save"), CLD_EXITED, 0);
    CHECK(get(s, "web").state == State::stopping);
    CHECK_FALSE(s.shutdown_complete());
    s.child_exited(pid_of(s, "web"), CLD_KILLED, SIGTERM);
    CHECK(s.shutdown_complete());
    CHECK(s.action() == PowerAction::poweroff);
    CHECK(get(s, "web").describe_exit() == "killed by signal 15 (SIGTERM)");
}

TEST_CASE("shutdown is bounded: a service that ignores SIGTERM is given up after grace + kill wait") {
    TempTree t;
    t.bundle("services", "stubborn");
    fs::write_file(t.root + "/services/stubborn/runtime.json", R"({"berth": {"stopTimeout": "50ms"}})");
    EventLoop loop(no_signals(), [](const signalfd_siginfo&) {});
    FakeLauncher l;
    Supervisor s(loop, l, settings_for(t.root, 50));
    s.boot();
    auto t0 = monotonic_ms();
    s.request_shutdown(PowerAction::poweroff);
    while (!s.shutdown_complete() && monotonic_ms() - t0 < 2000) loop.run_once(20);
    CHECK(s.shutdown_complete());
    CHECK(monotonic_ms() - t0 >= 100);
    CHECK(monotonic_ms() - t0 < 1000);
}

TEST_CASE("the event loop runs timers in deadline order and cancels") {
    EventLoop loop(no_signals(), [](const signalfd_siginfo&) {});
    std::vector<int> order;
    loop.add_timer(30, [&] { order.push_back(2); });
    loop.add_timer(10, [&] { order.push_back(1); });
    auto id = loop.add_timer(20, [&] { order.push_back(99); });
    loop.cancel_timer(id);
    loop.add_timer(40, [&] { throw std::runtime_error("handler errors are contained"); });
    auto t0 = monotonic_ms();
    while (monotonic_ms() - t0 < 200) loop.run_once(50);
    CHECK(order == std::vector<int>{1, 2});
}

// A handler that closes another ready fd and opens a new one gets the same
// number back; that fd's event, already in the batch, is not the new one's.
TEST_CASE("an event of a closed fd never reaches a new watch of the same number") {
    EventLoop loop(no_signals(), [](const signalfd_siginfo&) {});
    int fds[2] = {::eventfd(1, EFD_CLOEXEC), ::eventfd(1, EFD_CLOEXEC)};  // both readable
    REQUIRE((fds[0] >= 0 && fds[1] >= 0));
    bool swapped = false, stale = false;
    for (int i = 0; i < 2; ++i)
        loop.watch(fds[i], EPOLLIN, [&, i](std::uint32_t) {
            if (swapped) return;
            swapped = true;
            int other = fds[1 - i];
            loop.unwatch(other);
            ::close(other);
            int fresh = ::eventfd(0, EFD_CLOEXEC);  // nothing to read
            REQUIRE(fresh == other);
            loop.watch(fresh, EPOLLIN, [&](std::uint32_t) { stale = true; });
        });
    loop.run_once(0);
    CHECK(swapped);
    CHECK_FALSE(stale);
    ::close(fds[0]);
    ::close(fds[1]);
}
