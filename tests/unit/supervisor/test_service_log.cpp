#include <catch2/catch.hpp>
#include <time.h>

#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake.hpp"
#include "supervisor/control_server.hpp"
#include "supervisor/service_log.hpp"

using namespace testing;
using berth::config::LogPolicy;

namespace {
void put(int fd, const std::string& s) { REQUIRE(::write(fd, s.data(), s.size()) == ssize_t(s.size())); }

// A file that rotates past 4 KiB and keeps `keep` old ones; no console.
LogPolicy file_policy(int keep) {
    LogPolicy p;
    p.console = false;
    p.file = true;
    p.max_size = 4096;
    p.keep = keep;
    return p;
}
}  // namespace

TEST_CASE("lines are split, kept in a bounded ring, and the overflow is counted") {
    LogPolicy p;
    p.console = false;
    p.ring_lines = 3;
    ServiceLog log("svc", p, nullptr, "");
    put(log.write_fd(), "one\ntw");
    log.drain();
    put(log.write_fd(), "o\nthree\nfour\nfive\n");
    log.drain();
    REQUIRE(log.lines().size() == 3);
    CHECK(log.lines()[0].text == "three");
    CHECK(log.lines()[2].text == "five");
    CHECK(log.dropped() == 2);
    CHECK(log.total() == 5);
}

TEST_CASE("reading never blocks and is bounded per round") {
    LogPolicy p;
    p.console = false;
    ServiceLog log("svc", p, nullptr, "");
    CHECK(log.drain() == 0);  // nothing there: returns at once
    std::string big(60000, 'x');
    put(log.write_fd(), big);
    CHECK(log.drain(16384) <= 16384 + 8192);
    CHECK(log.drain() > 0);
    CHECK(log.lines().size() == 60000 / ServiceLog::kMaxLine);  // an endless line is cut at kMaxLine
}

TEST_CASE("console echo is prefixed, never blocks, and a full console delays lines instead of losing them") {
    int p[2];
    REQUIRE(::pipe2(p, O_NONBLOCK) == 0);
    REQUIRE(::fcntl(p[1], F_SETPIPE_SZ, 4096) > 0);
    berth::ConsoleOutput console(p[1]);
    LogPolicy pol;
    ServiceLog log("web", pol, &console, "");
    log.add_line("hello");
    char buf[8192] = {};
    REQUIRE(::read(p[0], buf, sizeof buf) == 11);
    CHECK(std::string(buf, 11) == "web: hello\n");
    // Fill the "console" and keep logging: add_line returns, lines are kept
    // in the ring and wait in the console's queue.
    for (int i = 0; i < 10; ++i) log.add_line("line " + std::to_string(i) + std::string(1000, 'y'));
    CHECK(log.total() == 11);
    CHECK(console.pending());
    // The reader catches up: every line arrives, whole and in order.
    std::string seen;
    for (int round = 0; round < 100 && (console.pending() || seen.size() < 10 * 1012); ++round) {
        ssize_t n = ::read(p[0], buf, sizeof buf);
        if (n > 0) seen.append(buf, size_t(n));
        console.flush();
    }
    CHECK_FALSE(console.pending());
    std::string want;
    for (int i = 0; i < 10; ++i) want += "web: line " + std::to_string(i) + std::string(1000, 'y') + "\n";
    CHECK(seen == want);
    CHECK(console.dropped_lines() == 0);
    ::close(p[0]);
    ::close(p[1]);
}

TEST_CASE("the log file rotates by size and keeps N old files") {
    TempTree t;
    LogPolicy p = file_policy(2);
    ServiceLog log("svc", p, nullptr, t.root);
    std::string line(1000, 'z');
    for (int i = 0; i < 20; ++i) log.add_line(line);
    struct stat st{};
    REQUIRE(::stat((t.root + "/svc.log").c_str(), &st) == 0);
    CHECK(st.st_size <= 4096);
    CHECK(fs::exists(t.root + "/svc.log.1"));
    CHECK(fs::exists(t.root + "/svc.log.2"));
    CHECK_FALSE(fs::exists(t.root + "/svc.log.3"));
    CHECK(fs::read_file(t.root + "/svc.log.1").find(line) != std::string::npos);
}

TEST_CASE("followers get new lines until they leave") {
    LogPolicy p;
    p.console = false;
    ServiceLog log("svc", p, nullptr, "");
    std::vector<std::string> got;
    log.follow([&](const LogLine& l) {
        got.push_back(l.text);
        return got.size() < 2;
    });
    log.add_line("a");
    log.add_line("b");
    log.add_line("c");
    CHECK(got == std::vector<std::string>{"a", "b"});
}

TEST_CASE("a follower leaves at unfollow, also from inside its own call") {
    LogPolicy p;
    p.console = false;
    ServiceLog log("svc", p, nullptr, "");
    for (int i = 0; i < 1000; ++i) log.unfollow(log.follow([](const LogLine&) { return true; }));
    CHECK(log.followers() == 0);  // a quiet service: nothing left behind
    int calls = 0;
    ServiceLog::FollowerId self = 0;
    self = log.follow([&](const LogLine&) {
        ++calls;
        log.unfollow(self);
        return true;
    });
    log.follow([](const LogLine&) { return true; });
    log.add_line("a");
    log.add_line("b");
    CHECK(calls == 1);
    CHECK(log.followers() == 1);
}

TEST_CASE("the rotated files shift only as far as they exist") {
    TempTree t;
    LogPolicy p = file_policy(100);
    for (const char* k : {"1", "2", "5"}) fs::write_file(t.root + "/svc.log." + k, std::string("old ") + k);
    ServiceLog log("svc", p, nullptr, t.root);
    std::string line(3000, 'z');
    log.add_line(line);
    log.add_line(line);  // past maxSize: one rotation
    CHECK(fs::read_file(t.root + "/svc.log.2") == "old 1");
    CHECK(fs::read_file(t.root + "/svc.log.3") == "old 2");
    CHECK_FALSE(fs::exists(t.root + "/svc.log.4"));
    CHECK(fs::read_file(t.root + "/svc.log.5") == "old 5");  // past the gap: left alone
    CHECK_FALSE(fs::exists(t.root + "/svc.log.6"));
}

TEST_CASE("the ring holds at most kMaxRingBytes of text, whatever ringLines says") {
    LogPolicy p;
    p.console = false;
    p.ring_lines = LogPolicy::kMaxRingLines;
    ServiceLog log("svc", p, nullptr, "");
    std::string junk(ServiceLog::kMaxLine, '\xFF');  // three bytes each once replaced
    for (int i = 0; i < 1000; ++i) log.add_line(junk);
    log.add_line("last");
    size_t bytes = 0;
    for (const auto& l : log.lines()) bytes += l.text.size();
    CHECK(bytes <= ServiceLog::kMaxRingBytes);
    CHECK(log.lines().back().text == "last");
    CHECK(log.dropped() == 1001 - log.lines().size());
}

TEST_CASE("a line cut at the limit never splits a character; bytes that are not UTF-8 are replaced") {
    LogPolicy p;
    p.console = false;
    ServiceLog log("svc", p, nullptr, "");
    // A 3-byte character whose first byte is the last one before the cut.
    log.feed(std::string(ServiceLog::kMaxLine - 1, 'a') + "\xE2\x82\xAC" + "b\n");
    REQUIRE(log.lines().size() == 2);
    CHECK(log.lines()[0].text == std::string(ServiceLog::kMaxLine - 1, 'a'));
    CHECK(log.lines()[1].text == "\xE2\x82\xAC" "b");
    log.feed("\xFF ok \xE2\x82\n");  // a stray byte; a character cut short by the newline
    CHECK(log.lines()[2].text == "\xEF\xBF\xBD ok \xEF\xBF\xBD\xEF\xBF\xBD");
    log.feed(std::string(3 * ServiceLog::kMaxLine, '\xFF'));  // nothing valid at all: still cut
    CHECK(log.lines().size() == 6);
}

TEST_CASE("the ring is addressed by sequence number") {
    LogPolicy p;
    p.console = false;
    p.ring_lines = 2;
    ServiceLog log("svc", p, nullptr, "");
    for (const char* l : {"a", "b", "c"}) log.add_line(l);
    CHECK(log.first_seq() == 1);
    CHECK(log.line(0) == nullptr);
    CHECK(log.line(1)->text == "b");
    CHECK(log.line(2)->text == "c");
    CHECK(log.line(3) == nullptr);
}

TEST_CASE("control requests: ps, status, stop, start, kill, logs") {
    Rig r;
    r.t.bundle("services", "web", R"({"restart": "always"})");
    r.t.bundle("onboot", "000-init");
    auto& s = r.make();
    s.boot();
    r.exit("000-init", 4);
    bool powered = false;
    ControlServer ctl(r.loop, s, r.t.root + "/control", [&](PowerAction a) { powered = a == PowerAction::halt; });
    auto ps = ctl.handle({{"cmd", "ps"}});
    REQUIRE(ps["ok"] == true);
    REQUIRE(ps["containers"].size() == 2);
    CHECK(ps["containers"][0]["name"] == "000-init");
    CHECK(ps["containers"][0]["last_exit"] == "exit status 4");  // every onboot status is kept
    CHECK(ps["containers"][1]["state"] == "running");
    CHECK(ps["containers"][1]["pid"] == r.get("web").pid);
    auto st = ctl.handle({{"cmd", "status"}, {"name", "web"}});
    CHECK(st["container"]["restart"] == "always");
    CHECK(ctl.handle({{"cmd", "status"}, {"name", "nope"}})["error"] == "no container named \"nope\"");
    CHECK(ctl.handle({{"cmd", "stop"}, {"name", "web"}})["ok"] == true);
    r.exit("web", SIGTERM, CLD_KILLED);
    r.advance(5000);
    CHECK(r.get("web").state == State::exited);  // restart: always, yet stopped stays stopped
    CHECK(ctl.handle({{"cmd", "kill"}, {"name", "web"}, {"signal", 9}})["error"] == "web is not running");
    CHECK(ctl.handle({{"cmd", "start"}, {"name", "web"}})["ok"] == true);
    CHECK(r.get("web").state == State::ready);
    const_cast<Container&>(r.get("web")).log->add_line("hello from web");
    auto logs = ctl.handle({{"cmd", "logs"}, {"name", "web"}, {"lines", 5}});
    CHECK(logs["ok"] == true);  // the header; the lines stream over a socket (test_control_server)
    CHECK(logs["dropped"] == 0);
    CHECK(ctl.handle({{"cmd", "frobnicate"}, {"name", "web"}})["ok"] == false);
    ctl.handle({{"cmd", "halt"}});
    CHECK(powered);
}

// format_wall computes the UTC date itself (no gmtime_r in PID 1): it must
// agree with gmtime_r across leap years, century rules and month ends.
TEST_CASE("wall-clock stamps agree with gmtime_r") {
    CHECK(berth::supervisor::format_wall(0) == "1970-01-01T00:00:00.000Z");
    CHECK(berth::supervisor::format_wall(951782400123) == "2000-02-29T00:00:00.123Z");
    CHECK(berth::supervisor::format_wall(4107542399999) == "2100-02-28T23:59:59.999Z");
    for (std::int64_t secs = 0; secs < 8000000000LL; secs += 86400 * 7 + 3599) {
        time_t t = time_t(secs);
        struct tm tm{};
        REQUIRE(::gmtime_r(&t, &tm));
        char want[64];
        std::snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.042Z", tm.tm_year + 1900, tm.tm_mon + 1,
                      tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        REQUIRE(berth::supervisor::format_wall(secs * 1000 + 42) == want);
    }
}
