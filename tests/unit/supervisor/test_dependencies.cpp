// Dependencies, readiness, onboot timeouts and shutdown order on a fake clock.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "fake.hpp"
#include "common/fs.hpp"
#include "common/unix_socket.hpp"
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
    CHECK(r.get("free").state == State::ready);
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
    CHECK(r.get("db").ready());
    CHECK(r.get("web").state == State::ready);
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
    CHECK(r.get("soft").state == State::ready);
    CHECK(r.get("hard").state == State::failed);
    CHECK(r.get("hard").error == "dependency net failed");
}

TEST_CASE("a hard dependency that gives up stops its running dependents") {
    Rig r;
    r.t.bundle("services", "db", R"({"restartDelay": 0, "giveUp": {"failures": 2}})");
    r.t.bundle("services", "web", R"({"dependsOn": ["db"]})");
    auto& s = r.make();
    s.boot();
    REQUIRE(r.get("web").state == State::ready);
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
    s.notify_data(c, "STATUS=warming up\n", c.pid);
    CHECK_FALSE(c.ready());
    CHECK(c.status_text == "warming up");
    // A short-lived helper (systemd-notify) whose pid is gone by the time
    // PID 1 reads the datagram: the socket is the identity, not the pid.
    s.notify_data(c, "READY=1", 999999999);
    CHECK(c.ready());
    r.advance(900);
    s.notify_data(c, "WATCHDOG=1", c.pid);
    r.advance(900);
    CHECK(c.state == State::ready);  // the ping pushed the deadline
    r.advance(100);
    CHECK(c.state == State::stopping);
    r.exit("sd", SIGTERM, CLD_KILLED);
    CHECK(c.describe_exit().find("watchdog timeout") != std::string::npos);
    r.advance(10);
    CHECK(r.l.count("sd") == 2);
}

TEST_CASE("READY=1 from a helper that exited before PID 1 read it, over the real socket") {
    Rig r;
    r.t.bundle("services", "sd", R"({"readiness": {"type": "systemd"}, "restartDelay": 0})");
    std::string notify = r.t.root + "/notify";
    r.s = std::make_unique<Supervisor>(r.loop, r.l, settings(r.t.root, 100, notify));
    r.s->boot();
    Container& c = *r.s->find("sd");
    REQUIRE(c.state == State::running);
    pid_t helper = ::fork();
    REQUIRE(helper >= 0);
    if (helper == 0) {
        int s = ::socket(AF_UNIX, SOCK_DGRAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        c.notify_socket.copy(a.sun_path, sizeof a.sun_path - 1);
        const char msg[] = "READY=1\nSTATUS=up \xff\n";
        ::_exit(::sendto(s, msg, sizeof msg - 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof a) > 0 ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(helper, &status, 0) == helper);  // gone, reaped, before PID 1 reads
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    r.loop.run_once(1000);
    CHECK(c.ready());
    CHECK(c.status_text == "up \xEF\xBF\xBD");  // the byte that is not UTF-8 replaced
}

TEST_CASE("descriptors sent on NOTIFY_SOCKET are closed outside PID 1, and a sender of many is no longer read",
          "[native-only]") {
    Rig r;
    r.t.bundle("services", "sd", R"({"readiness": {"type": "systemd"}})");
    r.s = std::make_unique<Supervisor>(r.loop, r.l, settings(r.t.root, 100, r.t.root + "/notify"));
    r.s->boot();
    Container& c = *r.s->find("sd");
    REQUIRE(c.state == State::running);
    auto send = [&](const char* msg, int count) {
        pid_t helper = ::fork();
        REQUIRE(helper >= 0);
        if (helper == 0) {
            int s = ::socket(AF_UNIX, SOCK_DGRAM, 0);
            sockaddr_un a = berth::unix_socket::address(c.notify_socket, "NOTIFY_SOCKET");
            if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) ::_exit(1);
            std::vector<int> fds(std::size_t(count), ::open("/dev/null", O_RDONLY));
            // EPERM where the kernel refuses descriptors on the socket (SO_PASSRIGHTS).
            ::_exit(berth::unix_socket::send_with_fds(s, msg, fds.data(), fds.size(), 0) > 0 ? 0
                    : errno == EPERM                                                      ? 3
                                                                                          : 1);
        }
        int status = 0;
        REQUIRE(::waitpid(helper, &status, 0) == helper);
        REQUIRE(WIFEXITED(status));
        return WEXITSTATUS(status);
    };
    // Kernels from 6.16 refuse the descriptors (the sender gets EPERM); turned
    // back on here, the socket behaves as on older kernels, where PID 1 gets them.
    int one = 1;
    if (::setsockopt(c.notify_r.get(), SOL_SOCKET, 83 /* SO_PASSRIGHTS */, &one, sizeof one) == 0) {
        ::setsockopt(c.notify_r.get(), SOL_SOCKET, 83, &(one = 0), sizeof one);
        CHECK(send("READY=1", 3) == 3);
        ::setsockopt(c.notify_r.get(), SOL_SOCKET, 83, &(one = 1), sizeof one);
    }
    std::size_t fds_before = berth::fs::list_dir("/proc/self/fd").size();
    REQUIRE(send("READY=1", 200) == 0);
    r.loop.run_once(1000);
    CHECK(c.ready());  // the message is read; its descriptors are not PID 1's to keep
    CHECK(berth::fs::list_dir("/proc/self/fd").size() <= fds_before + 1);  // + the sink's socket
    for (int i = 1; i < 16; ++i) {
        REQUIRE(send("WATCHDOG=1", 1) == 0);
        r.loop.run_once(1000);
    }
    CHECK_FALSE(c.notify_r);  // 16 such messages: its socket is no longer read
    r.loop.run_once(10);
}

TEST_CASE("STATUS= is valid UTF-8 and cut between characters") {
    Rig r;
    r.t.bundle("services", "sd", R"({"readiness": {"type": "systemd"}})");
    r.s = std::make_unique<Supervisor>(r.loop, r.l, settings(r.t.root, 100, r.t.root + "/notify"));
    r.s->boot();
    Container& c = *r.s->find("sd");
    // 199 bytes, then a 2-byte character across the 200-byte limit.
    r.s->notify_data(c, "STATUS=" + std::string(199, 'a') + "\xC3\xA9tail", c.pid);
    CHECK(c.status_text == std::string(199, 'a'));
    r.s->notify_data(c, "STATUS=caf\xE9", c.pid);  // Latin-1
    CHECK(c.status_text == "caf\xEF\xBF\xBD");
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
    CHECK(r.get("svc").state == State::ready);
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
    CHECK(r.get("good").state == State::ready);
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
    CHECK(r.get("app").state == State::ready);
    CHECK(r.get("db").state == State::ready);
    r.advance(1000);  // proxy ignores SIGTERM: SIGKILL at its stopTimeout
    r.exit("proxy", SIGKILL, CLD_KILLED);
    CHECK(r.get("app").state == State::stopping);
    CHECK(r.get("db").state == State::ready);
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
