// Restart policy, backoff and give-up on a fake clock.
#include <catch2/catch.hpp>

#include "fake.hpp"
#include "supervisor/restart_policy.hpp"

using namespace testing;

TEST_CASE("a crash loop follows the doubling delays up to the cap and does not spin") {
    Rig r;
    r.t.bundle("services", "crash", R"({"restartDelay": "1s", "restartDelayMax": "8s"})");
    auto& s = r.make();
    s.boot();
    std::vector<Millis> delays;
    for (int i = 0; i < 6; ++i) {
        r.exit("crash", 1);
        REQUIRE(r.get("crash").state == State::backoff);
        Millis t0 = r.now;
        int before = r.l.count("crash");
        while (r.l.count("crash") == before) r.advance(10);
        delays.push_back(r.now - t0);
    }
    CHECK(delays == std::vector<Millis>{1000, 2000, 4000, 8000, 8000, 8000});
    CHECK(r.get("crash").restarts == 6);
}

TEST_CASE("the delay resets once the service stayed up restartResetAfter") {
    Rig r;
    r.t.bundle("services", "svc", R"({"restartDelay": "1s", "restartResetAfter": "30s"})");
    auto& s = r.make();
    s.boot();
    r.exit("svc", 1);
    r.advance(1000);
    r.exit("svc", 1);
    r.advance(2000);  // second delay was 2 s
    REQUIRE(r.l.count("svc") == 3);
    r.advance(30000);  // up 30 s
    r.exit("svc", 1);
    r.advance(999);
    CHECK(r.l.count("svc") == 3);
    r.advance(1);
    CHECK(r.l.count("svc") == 4);
}

TEST_CASE("restart no / on-failure / always") {
    Rig r;
    r.t.bundle("services", "no", R"({"restart": "no"})");
    r.t.bundle("services", "onfail", R"({"restart": "on-failure"})");
    r.t.bundle("services", "always", R"({"restart": "always", "restartDelay": 0})");
    auto& s = r.make();
    s.boot();
    r.exit("no", 1);
    r.exit("onfail", 0);
    r.exit("always", 0);
    r.advance(5000);
    CHECK(r.get("no").state == State::exited);
    CHECK(r.get("onfail").state == State::exited);
    CHECK(r.get("always").state == State::ready);
    CHECK(r.l.count("always") == 2);
}

TEST_CASE("exec failures count toward give-up, and the action runs") {
    Rig r;
    r.t.bundle("services", "missing", R"({"restartDelay": "100ms", "giveUp": {"failures": 3, "window": "1m", "action": "poweroff"}})");
    r.t.bundle("services", "other");
    r.l.broken = {"missing"};
    auto& s = r.make();
    s.boot();
    r.advance(10000);
    CHECK(r.l.count("missing") == 3);
    CHECK(r.get("missing").state == State::failed);
    CHECK(r.get("missing").error.find("gave up after 3 failures") != std::string::npos);
    CHECK(s.action() == PowerAction::poweroff);  // the give-up action
    CHECK(s.shutting_down());
}

TEST_CASE("failures outside the give-up window are forgotten") {
    Rig r;
    r.t.bundle("services", "flaky", R"({"restartDelay": "1s", "restartDelayMax": "1s", "giveUp": {"failures": 3, "window": "5s"}})");
    auto& s = r.make();
    s.boot();
    for (int i = 0; i < 10; ++i) {
        r.advance(4000);  // each failure 5 s after the previous one
        r.exit("flaky", 1);
        r.advance(1000);
        REQUIRE(r.get("flaky").state == State::ready);
    }
    CHECK(s.action() == PowerAction::none);
}

TEST_CASE("a crash loop keeps only the failure times giveUp can count") {
    berth::config::ServicePolicy p;
    RestartTracker t;
    for (Millis now = 0; now < 100000; now += 10) decide_restart(p, t, true, now, now);
    CHECK(t.failures.empty());  // no giveUp: nothing to count
    p.give_up = berth::config::GiveUp{5, 0, berth::config::PowerOnFailure::none};
    Decision d;
    for (int i = 0; i < 5; ++i) d = decide_restart(p, t, true, 0, 1000 + i);
    CHECK(d.verdict == Verdict::give_up);
    CHECK(t.failures.size() == 5);
    for (int i = 0; i < 1000; ++i) decide_restart(p, t, true, 0, 2000 + i);
    CHECK(t.failures.size() == 5);  // at most giveUp.failures, window or not
    p.give_up->window_ms = 100;
    t = {};
    for (Millis now = 0; now < 100000; now += 50) d = decide_restart(p, t, true, now, now);
    CHECK(d.verdict == Verdict::restart);  // 3 within 100 ms, never 5
    CHECK(t.failures.size() == 3);
}

TEST_CASE("stop: no restart; start: clean backoff; restart: stop then start") {
    Rig r;
    r.t.bundle("services", "svc", R"({"stopTimeout": "2s"})");
    auto& s = r.make();
    s.boot();
    CHECK(s.stop("svc") == "");
    CHECK(r.get("svc").state == State::stopping);
    r.exit("svc", SIGTERM, CLD_KILLED);
    r.advance(120000);
    CHECK(r.get("svc").state == State::exited);
    CHECK(r.l.count("svc") == 1);
    CHECK(s.start("svc") == "");
    CHECK(r.get("svc").state == State::ready);
    CHECK(s.restart("svc") == "");
    r.exit("svc", SIGTERM, CLD_KILLED);
    CHECK(r.get("svc").state == State::ready);
    CHECK(r.l.count("svc") == 3);
    CHECK(s.stop("nope").find("no service named nope") != std::string::npos);
}

TEST_CASE("a service ignoring its stop signal is killed after its stopTimeout, then given up on") {
    Rig r;
    r.t.bundle("services", "stubborn", R"({"stopTimeout": "3s"})");
    auto& s = r.make(500);
    s.boot();
    s.stop("stubborn");
    r.advance(2990);
    CHECK(r.get("stubborn").state == State::stopping);
    r.advance(10 + 500);
    CHECK(r.get("stubborn").state == State::failed);
    CHECK(r.get("stubborn").error == "did not die after SIGKILL");
}
