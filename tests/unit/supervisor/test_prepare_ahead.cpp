// Starts prepared ahead while an onboot container runs: prepared early,
// started only in the order the boot allows, discarded when they never start.
#include <catch2/catch.hpp>

#include "fake.hpp"

using namespace testing;
using Names = std::vector<std::string>;

TEST_CASE("prepare ahead: the next onboot container while one runs, the services during the last") {
    Rig r;
    r.t.bundle("onboot", "000-first");
    r.t.bundle("onboot", "001-second");
    r.t.bundle("onboot", "002-third");
    r.t.bundle("services", "db", R"({"readiness": {"type": "notify-fd"}})");
    r.t.bundle("services", "web", R"({"dependsOn": ["db"]})");
    Supervisor& s = r.make();
    s.boot();
    // 000 runs: only 001 is prepared, and it is not started.
    CHECK(r.l.started == Names{"000-first"});
    CHECK(r.l.waiting == Names{"001-second"});
    CHECK(r.get("001-second").state == State::pending);
    r.exit("000-first");
    // 001 starts from its preparation; 002 is prepared in turn, services not yet.
    CHECK(r.l.started == Names{"000-first", "001-second"});
    CHECK(r.l.taken == Names{"001-second"});
    CHECK(r.l.waiting == Names{"002-third"});
    r.exit("001-second");
    // During the last onboot container: both services prepared, none started.
    CHECK(r.l.started == Names{"000-first", "001-second", "002-third"});
    CHECK(r.l.waiting == Names{"db", "web"});
    CHECK(r.get("db").state == State::pending);
    CHECK(r.get("web").state == State::pending);
    r.exit("002-third");
    // db starts; web stays prepared until db is ready.
    CHECK(r.l.started.back() == "db");
    CHECK(r.l.count("web") == 0);
    CHECK(r.l.waiting == Names{"web"});
    s.notify_data(*s.find("db"), "READY=1\n", r.get("db").pid);
    CHECK(r.l.count("web") == 1);
    CHECK(r.l.taken == Names{"001-second", "002-third", "db", "web"});
    CHECK(r.l.waiting.empty());
    CHECK(r.l.discarded.empty());
}

TEST_CASE("prepare ahead: shutdown during onboot discards every preparation") {
    Rig r;
    r.t.bundle("onboot", "000-first");
    r.t.bundle("onboot", "001-last");
    r.t.bundle("services", "a");
    r.t.bundle("services", "b");
    Supervisor& s = r.make();
    s.boot();
    r.exit("000-first");
    REQUIRE(r.l.waiting == Names{"a", "b"});
    s.request_shutdown(PowerAction::poweroff);
    CHECK(r.l.waiting.empty());
    CHECK(r.l.discarded == Names{"a", "b"});
    r.exit("001-last", SIGTERM, CLD_KILLED);
    CHECK(s.shutdown_complete());
    CHECK(r.l.count("a") == 0);
    CHECK(r.l.count("b") == 0);
}

TEST_CASE("prepare ahead: an onboot failure that powers off never starts the prepared successor") {
    Rig r;
    r.t.bundle("onboot", "000-check", R"({"onFailure": "poweroff"})");
    r.t.bundle("onboot", "001-next");
    Supervisor& s = r.make();
    s.boot();
    REQUIRE(r.l.waiting == Names{"001-next"});
    r.exit("000-check", 1);
    CHECK(r.l.count("001-next") == 0);
    CHECK(r.l.discarded == Names{"001-next"});
    CHECK(r.l.waiting.empty());
    CHECK(s.shutdown_complete());
}

TEST_CASE("prepare ahead: a failure that continues starts the prepared successor") {
    Rig r;
    r.t.bundle("onboot", "000-flaky");
    r.t.bundle("onboot", "001-next");
    Supervisor& s = r.make();
    s.boot();
    r.exit("000-flaky", 2);
    CHECK(r.l.taken == Names{"001-next"});
    CHECK(r.get("001-next").state == State::running);
}

TEST_CASE("prepare ahead: a prepared service whose dependency fails is discarded") {
    Rig r;
    r.t.bundle("onboot", "000-only");
    r.t.bundle("services", "db", R"({"restart": "no", "readiness": {"type": "notify-fd"}})");
    r.t.bundle("services", "web", R"({"dependsOn": ["db"]})");
    Supervisor& s = r.make();
    s.boot();
    REQUIRE(r.l.waiting == Names{"db", "web"});
    r.exit("000-only");
    REQUIRE(r.l.count("db") == 1);
    r.exit("db", 1);
    CHECK(r.get("web").state == State::failed);
    CHECK(r.l.discarded == Names{"web"});
    CHECK(r.l.waiting.empty());
}

TEST_CASE("prepare ahead: at most kPreparedServices services wait") {
    Rig r;
    r.t.bundle("onboot", "000-only");
    for (int i = 0; i < 12; ++i) r.t.bundle("services", "s" + std::to_string(10 + i));
    Supervisor& s = r.make();
    s.boot();
    CHECK(r.l.waiting.size() == Supervisor::kPreparedServices);
}

TEST_CASE("prepare ahead: off in the settings, every start is made at its turn") {
    Rig r;
    r.t.bundle("onboot", "000-first");
    r.t.bundle("onboot", "001-second");
    r.t.bundle("services", "a");
    Settings st = settings(r.t.root, 100);
    st.prepare_ahead = false;
    r.s = std::make_unique<Supervisor>(r.loop, r.l, st);
    r.s->boot();
    r.exit("000-first");
    r.exit("001-second");
    CHECK(r.l.started == Names{"000-first", "001-second", "a"});
    CHECK(r.l.prepared.empty());
}
