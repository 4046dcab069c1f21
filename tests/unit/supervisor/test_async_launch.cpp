// Starts that take time: the supervisor never waits for a launch, bounds it
// with the setup deadline, and copes with a container that exits before its
// launch report arrives. Also what a pending service waits for, and when the
// boot is complete.
#include <catch2/catch.hpp>

#include "fake.hpp"

using namespace testing;

namespace {

Supervisor& make(Rig& r, Millis setup_timeout, int* boot_completes = nullptr) {
    Settings st = settings(r.t.root, 100);
    st.setup_timeout_ms = setup_timeout;
    if (boot_completes) st.on_boot_complete = [boot_completes] { ++*boot_completes; };
    r.s = std::make_unique<Supervisor>(r.loop, r.l, st);
    return *r.s;
}

}  // namespace

TEST_CASE("independent services start side by side: none waits for another's setup") {
    Rig r;
    r.t.bundle("services", "a");
    r.t.bundle("services", "b");
    r.t.bundle("services", "c");
    r.l.hold = true;
    auto& s = make(r, 60000);
    s.boot();
    // All three launches are under way at once.
    CHECK(r.l.started == std::vector<std::string>{"a", "b", "c"});
    for (auto n : {"a", "b", "c"}) CHECK(r.get(n).state == State::starting);
    r.l.finish("b");
    CHECK(r.get("b").state == State::ready);
    CHECK(r.get("a").state == State::starting);
}

TEST_CASE("onboot stays strictly ordered: the next starts only after the previous exited") {
    Rig r;
    r.t.bundle("onboot", "000-a");
    r.t.bundle("onboot", "001-b");
    r.t.bundle("services", "web");
    r.l.hold = true;
    auto& s = make(r, 60000);
    s.boot();
    CHECK(r.l.started == std::vector<std::string>{"000-a"});
    r.l.finish("000-a");
    CHECK(r.l.started == std::vector<std::string>{"000-a"});  // running, not yet exited
    r.exit("000-a");
    CHECK(r.l.started == std::vector<std::string>{"000-a", "001-b"});
    r.l.fail("001-b", "container `001-b`: exec: `/bin/nope` not found");
    CHECK(r.get("001-b").state == State::failed);
    CHECK(r.l.started == std::vector<std::string>{"000-a", "001-b", "web"});
}

TEST_CASE("a setup that misses its deadline is killed and counts as a failure") {
    Rig r;
    r.t.bundle("services", "slow", R"({"restartDelay": "1s", "giveUp": {"failures": 2}})");
    r.l.hold = true;
    auto& s = make(r, 500);
    s.boot();
    r.advance(490);
    CHECK(r.get("slow").state == State::starting);
    r.advance(20);
    CHECK(r.l.cancelled == std::vector<std::string>{"slow"});
    CHECK(r.get("slow").state == State::backoff);
    CHECK(r.get("slow").error == "setup did not finish within 500 ms");
    r.advance(1000);  // restarted, hangs again: the second failure gives up
    CHECK(r.l.count("slow") == 2);
    r.advance(600);
    CHECK(r.get("slow").state == State::failed);
    CHECK(r.get("slow").error.find("gave up after 2 failures") != std::string::npos);
    // A late report of an abandoned start changes nothing.
    CHECK(r.l.held.empty());
}

TEST_CASE("a container that exits before its launch report is read still counts its exit") {
    Rig r;
    r.t.bundle("services", "quick", R"({"restart": "no"})");
    r.l.hold = true;
    r.l.launch_pids = {4242};
    auto& s = make(r, 60000);
    s.boot();
    // The reaper sees the launch process, then the container (pid 1000), both
    // before the report is read.
    s.child_exited(4242, CLD_EXITED, 0);
    CHECK(r.l.launch_pids.empty());
    s.child_exited(1000, CLD_EXITED, 7);
    CHECK(r.get("quick").state == State::starting);
    CHECK(r.l.finish("quick") == 1000);
    CHECK(r.get("quick").state == State::exited);
    CHECK(r.get("quick").exit_code == 7);
    CHECK(r.get("quick").pid == -1);
}

TEST_CASE("stop and shutdown abandon a start under way") {
    Rig r;
    r.t.bundle("services", "a");
    r.t.bundle("services", "b");
    r.l.hold = true;
    auto& s = make(r, 60000);
    s.boot();
    CHECK(s.stop("a") == "");
    CHECK(r.get("a").state == State::exited);
    CHECK(r.l.cancelled == std::vector<std::string>{"a"});
    CHECK(s.start("b") == "b is already running");
    s.request_shutdown(PowerAction::poweroff);
    CHECK(r.l.cancelled == std::vector<std::string>{"a", "b"});
    r.advance(10);
    CHECK(s.shutdown_complete());
}

TEST_CASE("a pending service says what it waits for; boot complete names it once nothing can progress") {
    Rig r;
    r.t.bundle("services", "db", R"({"restart": "on-failure", "restartDelay": "5s", "readiness": {"type": "notify-fd", "timeout": "2s"}})");
    r.t.bundle("services", "web", R"({"dependsOn": ["db"]})");
    r.t.bundle("services", "cache");
    int completes = 0;
    auto& s = make(r, 60000, &completes);
    s.boot();
    CHECK(r.get("web").state == State::pending);
    CHECK(r.get("web").waiting_for == "db (not ready)");
    // db may still become ready: the boot is not complete yet.
    CHECK(completes == 0);
    r.advance(2000);  // readiness timeout: db is stopped
    r.exit("db", 0, CLD_KILLED);
    CHECK(r.get("db").state == State::backoff);
    CHECK(completes == 1);
    CHECK(r.get("web").state == State::pending);
    // Once db comes back and is ready, web starts; the boot is not reported twice.
    r.advance(5000);
    s.notify_data(*s.find("db"), "\n", r.get("db").pid);
    CHECK(r.get("web").state == State::ready);
    CHECK(r.get("web").waiting_for.empty());
    CHECK(completes == 1);
}

TEST_CASE("boot complete waits for every start under way") {
    Rig r;
    r.t.bundle("services", "a");
    r.t.bundle("services", "b");
    r.l.hold = true;
    int completes = 0;
    auto& s = make(r, 60000, &completes);
    s.boot();
    r.l.finish("a");
    CHECK(completes == 0);
    r.l.finish("b");
    CHECK(completes == 1);
}
