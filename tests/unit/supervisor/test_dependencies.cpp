// Dependencies, readiness, onboot timeouts and shutdown order on a fake clock.
#include <catch2/catch.hpp>

#include "fake.hpp"
#include "config/dependency_graph.hpp"

using namespace testing;


TEST_CASE("a cycle is rejected with the cycle printed; the others start") {
    Rig r;
    r.t.bundle("services", "a", R"({"dependsOn": ["b"]})");
    r.t.bundle("services", "b", R"({"waitsFor": ["c"]})");
    r.t.bundle("services", "c", R"({"after": ["a"]})");
    r.t.bundle("services", "free");
    r.t.bundle("services", "typo", R"({"dependsOn": ["nosuch"]})");
    auto& s = r.make();
    s.boot();
    CHECK(r.get("a").state == State::failed);
    CHECK(r.get("a").error.find("dependency cycle: a -> b -> c -> a") != std::string::npos);
    CHECK(r.get("c").error.find("dependency cycle") != std::string::npos);
    CHECK(r.get("typo").error.find("runtime.json: berth.dependsOn: unknown service \"nosuch\"") != std::string::npos);
    CHECK(r.get("free").state == State::running);
    CHECK(r.l.started == std::vector<std::string>{"free"});
}

TEST_CASE("hard dependency: start after it is ready; independent services start together") {
    Rig r;
    r.t.bundle("services", "db", R"({"readiness": {"type": "notify-fd"}})");
    r.t.bundle("services", "web", R"({"dependsOn": ["db"]})");
    r.t.bundle("services", "cache");
    auto& s = r.make();
    s.boot();
    // db and cache start at once; web waits for db's readiness.
    CHECK(r.l.started == std::vector<std::string>{"cache", "db"});
    CHECK(r.get("web").state == State::pending);
    s.notify_data(*s.find("db"), "partial", r.get("db").pid);
    CHECK(r.get("web").state == State::pending);
    s.notify_data(*s.find("db"), "\n", r.get("db").pid);  // readiness split across reads
    CHECK(r.get("db").ready);
    CHECK(r.get("web").state == State::running);
}

TEST_CASE("soft dependency starts after the other failed; hard dependents of a failed service stop") {
    Rig r;
    r.t.bundle("services", "net", R"({"restart": "no", "readiness": {"type": "notify-fd"}})");
    r.t.bundle("services", "soft", R"({"waitsFor": ["net"]})");
    r.t.bundle("services", "hard", R"({"dependsOn": ["net"]})");
    auto& s = r.make();
    s.boot();
    CHECK(r.l.started == std::vector<std::string>{"net"});
    r.exit("net", 1);  // failed for good (restart: no)
    CHECK(r.get("soft").state == State::running);
    CHECK(r.get("hard").state == State::failed);
    CHECK(r.get("hard").error == "dependency net failed");
}

TEST_CASE("a hard dependency that gives up stops its running dependents") {
    Rig r;
    r.t.bundle("services", "db", R"({"restartDelay": 0, "giveUp": {"failures": 2}})");
    r.t.bundle("services", "web", R"({"dependsOn": ["db"]})");
    auto& s = r.make();
    s.boot();
    REQUIRE(r.get("web").state == State::running);
    r.exit("db", 1);
    r.advance(10);
    r.exit("db", 1);
    CHECK(r.get("db").state == State::failed);
    CHECK(r.get("web").state == State::stopping);
    r.exit("web", SIGTERM, CLD_KILLED);
    r.advance(5000);
    CHECK(r.get("web").state == State::exited);
    CHECK(r.l.count("web") == 1);
}

TEST_CASE("readiness timeout stops the service and counts as a failure") {
    Rig r;
    r.t.bundle("services", "slow", R"({"readiness": {"type": "notify-fd", "timeout": "2s"}, "restartDelay": "1s"})");
    auto& s = r.make();
    s.boot();
    r.advance(1990);
    CHECK(r.get("slow").state == State::running);
    r.advance(10);
    CHECK(r.get("slow").state == State::stopping);
    r.exit("slow", SIGTERM, CLD_KILLED);
    CHECK(r.get("slow").state == State::backoff);
    CHECK(r.get("slow").describe_exit().find("not ready after 2000 ms") != std::string::npos);
    r.advance(1000);
    CHECK(r.l.count("slow") == 2);
}

TEST_CASE("systemd notifications") {
    Rig r;
    r.t.bundle("services", "sd", R"({"readiness": {"type": "systemd"}, "watchdog": "1s", "restartDelay": 0})");
    std::string notify = r.t.root + "/notify";
    r.s = std::make_unique<Supervisor>(r.loop, r.l, settings(r.t.root, 100, notify));
    auto& s = *r.s;
    s.boot();
    Container& c = *s.find("sd");
    REQUIRE(c.state == State::running);
    CHECK(fs::exists(notify + "/sd/notify"));
    s.notify_data(c, "READY=1\n", 4242);  // not the service's process
    CHECK_FALSE(c.ready);
    s.notify_data(c, "STATUS=warming up\nREADY=1", c.pid);
    CHECK(c.ready);
    CHECK(c.status_text == "warming up");
    r.advance(900);
    s.notify_data(c, "WATCHDOG=1", c.pid);
    r.advance(900);
    CHECK(c.state == State::running);  // the ping pushed the deadline
    r.advance(100);
    CHECK(c.state == State::stopping);
    r.exit("sd", SIGTERM, CLD_KILLED);
    CHECK(c.describe_exit().find("watchdog timeout") != std::string::npos);
    r.advance(10);
    CHECK(r.l.count("sd") == 2);
}

TEST_CASE("a hung onboot container is killed after its timeout, reported, and the boot goes on") {
    Rig r;
    r.t.bundle("onboot", "000-hang", R"({"timeout": "5s"})");
    r.t.bundle("onboot", "001-next");
    r.t.bundle("services", "svc");
    auto& s = r.make();
    s.boot();
    r.advance(4990);
    CHECK(r.l.started == std::vector<std::string>{"000-hang"});
    r.advance(10);
    r.exit("000-hang", SIGKILL, CLD_KILLED);  // what the SIGKILL produces
    CHECK(r.get("000-hang").describe_exit() == "timed out after 5000 ms, killed by signal 9 (SIGKILL)");
    CHECK_FALSE(r.get("000-hang").succeeded());
    r.exit("001-next", 0);
    CHECK(r.get("svc").state == State::running);
}

TEST_CASE("onboot onFailure poweroff ends the boot") {
    Rig r;
    r.t.bundle("onboot", "000-check", R"({"onFailure": "poweroff"})");
    r.t.bundle("onboot", "001-never");
    r.t.bundle("services", "svc");
    auto& s = r.make();
    s.boot();
    r.exit("000-check", 2);
    CHECK(s.action() == PowerAction::poweroff);
    CHECK(r.l.count("001-never") == 0);
    CHECK(r.l.count("svc") == 0);
    CHECK(s.shutdown_complete());
}

TEST_CASE("bad runtime.json fails that service only, naming file, field and reason") {
    Rig r;
    r.t.bundle("services", "bad", R"({"restartDelay": "-1s"})");
    r.t.bundle("services", "good");
    auto& s = r.make();
    s.boot();
    CHECK(r.get("bad").state == State::failed);
    CHECK(r.get("bad").error == r.t.root + "/services/bad/runtime.json: berth.restartDelay: negative duration");
    CHECK(r.get("good").state == State::running);
    CHECK(s.start("bad") == r.get("bad").error);
}

TEST_CASE("shutdown stops services in reverse dependency order") {
    Rig r;
    r.t.bundle("services", "db");
    r.t.bundle("services", "app", R"({"dependsOn": ["db"]})");
    r.t.bundle("services", "proxy", R"({"after": ["app"], "stopTimeout": "1s"})");
    auto& s = r.make();
    s.boot();
    REQUIRE(r.l.started == std::vector<std::string>{"db", "app", "proxy"});
    s.request_shutdown(PowerAction::poweroff);
    CHECK(r.get("proxy").state == State::stopping);
    CHECK(r.get("app").state == State::running);
    CHECK(r.get("db").state == State::running);
    r.advance(1000);  // proxy ignores SIGTERM: SIGKILL at its stopTimeout
    r.exit("proxy", SIGKILL, CLD_KILLED);
    CHECK(r.get("app").state == State::stopping);
    CHECK(r.get("db").state == State::running);
    r.exit("app", SIGTERM, CLD_KILLED);
    CHECK(r.get("db").state == State::stopping);
    r.exit("db", SIGTERM, CLD_KILLED);
    CHECK(s.shutdown_complete());
}

TEST_CASE("nothing restarts during shutdown; a service in backoff is not started") {
    Rig r;
    r.t.bundle("services", "svc", R"({"restartDelay": "1s"})");
    auto& s = r.make();
    s.boot();
    r.exit("svc", 1);
    s.request_shutdown(PowerAction::reboot);
    r.advance(5000);
    CHECK(r.l.count("svc") == 1);
    CHECK(s.shutdown_complete());
}

TEST_CASE("a shutdown during onboot stops the onboot container before any onshutdown container runs") {
    Rig r;
    r.t.bundle("onboot", "000-slow", R"({"stopTimeout": "1s", "timeout": "1m"})");
    r.t.bundle("onboot", "001-never");
    r.t.bundle("onshutdown", "000-save");
    auto& s = r.make(200);
    s.boot();
    REQUIRE(r.get("000-slow").state == State::running);
    s.request_shutdown(PowerAction::poweroff);
    CHECK(r.get("000-slow").state == State::stopping);
    CHECK(r.get("001-never").state == State::failed);
    r.advance(900);
    CHECK(r.l.count("000-save") == 0);  // the onboot container is still stopping

    SECTION("it exits on its stop signal: onshutdown runs at once") {
        r.exit("000-slow", SIGTERM, CLD_KILLED);
        CHECK(r.l.count("000-save") == 1);
    }
    SECTION("it ignores everything: bounded by stopTimeout + the kill wait") {
        r.advance(200);  // 1 s stop timeout: SIGKILL
        CHECK(r.l.count("000-save") == 0);
        r.advance(200);  // kill wait over: given up on, onshutdown goes on
        CHECK(r.get("000-slow").state == State::failed);
        CHECK(r.l.count("000-save") == 1);
    }
    r.exit("000-save");
    CHECK(s.shutdown_complete());
    CHECK(r.l.count("001-never") == 0);
}
