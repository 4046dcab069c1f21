// The control socket end to end over a socketpair: replies of any size,
// bytes that are not UTF-8, pipelining, malformed requests, idle clients.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/utf8.hpp"
#include "fake.hpp"
#include "supervisor/control_server.hpp"

using namespace testing;
using json = nlohmann::json;

namespace {

// One client: the other end of a socketpair the server adopted.
struct Client {
    ControlServer& srv;
    EventLoop& loop;
    int fd = -1;
    std::string buf;
    bool eof = false;
    Client(ControlServer& s, EventLoop& l) : srv(s), loop(l) {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == 0);
        fd = sv[0];
        srv.adopt(fs::Fd(sv[1]));
    }
    ~Client() { ::close(fd); }
    void send(const std::string& s) { REQUIRE(::write(fd, s.data(), s.size()) == ssize_t(s.size())); }
    // Runs the loop until `count` lines came (or the server closed).
    std::vector<std::string> lines(size_t count, int max_rounds = 20000) {
        std::vector<std::string> out;
        for (int i = 0; i < max_rounds && out.size() < count && !eof; ++i) {
            loop.run_once(0);
            char b[65536];
            ssize_t n;
            while ((n = ::read(fd, b, sizeof b)) > 0) buf.append(b, size_t(n));
            if (n == 0) eof = true;
            size_t nl;
            while (out.size() < count && (nl = buf.find('\n')) != std::string::npos) {
                out.push_back(buf.substr(0, nl));
                buf.erase(0, nl + 1);
            }
        }
        return out;
    }
    json one() {
        auto l = lines(1);
        REQUIRE(l.size() == 1);
        REQUIRE(berth::utf8::valid(l[0]));
        return json::parse(l[0]);
    }
};

struct Server {
    Rig r;
    std::unique_ptr<ControlServer> ctl;
    Server(const std::string& web_policy = R"({"restart": "always"})") {
        r.t.bundle("services", "web", web_policy);
        r.make().boot();
        ctl = std::make_unique<ControlServer>(r.loop, *r.s, r.t.root + "/control", [](PowerAction) {});
    }
    ServiceLog& log() { return *const_cast<Container&>(r.get("web")).log; }
};

}  // namespace

TEST_CASE("bytes that are not UTF-8 never cost a reply: logs, status, ps") {
    Server s;
    s.log().feed("caf\xE9 latin-1\n");            // one Latin-1 byte
    s.log().feed(std::string(4095, 'a') + "\xC3\xA9" + "\n");  // a character across the 4 KiB cut
    Container& web = const_cast<Container&>(s.r.get("web"));
    web.status_text = "st\xFF";
    web.error = "config.json: bad byte \xC0 here";
    Client c(*s.ctl, s.r.loop);
    c.send(R"({"cmd":"logs","name":"web"})" "\n" R"({"cmd":"status","name":"web"})" "\n" R"({"cmd":"ps"})" "\n");
    auto got = c.lines(7);
    REQUIRE(got.size() == 7);  // header, 3 lines, end; status; ps
    for (auto& l : got) CHECK(berth::utf8::valid(l));
    CHECK(json::parse(got[1])["line"] == "caf\xEF\xBF\xBD latin-1");
    CHECK(json::parse(got[2])["line"] == std::string(4095, 'a'));  // cut before the character, not inside
    CHECK(json::parse(got[3])["line"] == "\xC3\xA9");
    CHECK(json::parse(got[4])["end"] == true);
    auto st = json::parse(got[5]);
    CHECK(st["ok"] == true);
    CHECK(st["container"]["status"] == "st\xEF\xBF\xBD");
    CHECK(st["container"]["error"] == "config.json: bad byte \xEF\xBF\xBD here");
    CHECK(json::parse(got[6])["ok"] == true);
}

TEST_CASE("a logs reply larger than any buffer streams whole, in order") {
    Server s(R"({"log": {"ringLines": 1000, "console": false}})");
    std::string big(4000, 'x');
    for (int i = 0; i < 1000; ++i) s.log().add_line(std::to_string(i) + big);  // about 4 MB of reply
    Client c(*s.ctl, s.r.loop);
    c.send(R"({"cmd":"logs","name":"web","lines":1000000})" "\n" R"({"cmd":"ps"})" "\n");
    auto got = c.lines(1003);
    REQUIRE(got.size() == 1003);
    CHECK(json::parse(got[0])["ok"] == true);
    for (int i = 0; i < 1000; i += 125) CHECK(json::parse(got[size_t(i) + 1])["line"] == std::to_string(i) + big);
    CHECK(json::parse(got[1001])["end"] == true);
    CHECK(json::parse(got[1002]).contains("containers"));  // the pipelined request after it
}

TEST_CASE("a reader slower than the ring is told how many lines it missed") {
    Server s(R"({"log": {"ringLines": 10, "console": false}})");
    for (int i = 0; i < 10; ++i) s.log().add_line("old " + std::to_string(i));
    Client c(*s.ctl, s.r.loop);
    c.send(R"({"cmd":"logs","name":"web","lines":5,"follow":true})" "\n");
    auto head = c.lines(6);
    REQUIRE(head.size() == 6);
    CHECK(json::parse(head[5])["line"] == "old 9");
    // Lines come while the client does not read: what fits in the socket
    // arrives, the rest is counted, and PID 1 holds at most its buffer.
    std::string big(3000, 'y');
    for (int i = 0; i < 3000; ++i) s.log().add_line(std::to_string(i) + big);
    auto rest = c.lines(100000, 3000);
    bool skipped = false;
    for (auto& l : rest) skipped |= json::parse(l).contains("skipped");
    CHECK(skipped);
    REQUIRE(!rest.empty());
    INFO(rest.back().substr(0, 80) << " of " << rest.size());
    CHECK(json::parse(rest.back())["line"] == "2999" + big);
    CHECK(s.ctl->clients() == 1);  // a slow follower is not dropped
}

TEST_CASE("pipelined requests each get their reply, in order") {
    Server s;
    Client c(*s.ctl, s.r.loop);
    c.send(R"({"cmd":"status","name":"web"})" "\n" R"({"cmd":"status","name":"nope"})" "\n" R"({"cmd":"ps"})" "\n");
    auto got = c.lines(3);
    REQUIRE(got.size() == 3);
    CHECK(json::parse(got[0])["container"]["name"] == "web");
    CHECK(json::parse(got[1])["error"] == "no container named \"nope\"");
    CHECK(json::parse(got[2])["containers"].size() == 1);
}

TEST_CASE("every malformed request gets an error naming what is wrong") {
    Server s;
    Client c(*s.ctl, s.r.loop);
    std::vector<std::pair<std::string, std::string>> cases = {
        {R"({"cmd":5})", "cmd: expected a string"},
        {R"({"cmd":"kill","name":"web","signal":"NOPE"})", "signal: expected"},
        {R"({"cmd":"kill","name":"web","signal":[9]})", "signal: expected"},
        {R"({"cmd":"logs","name":"web","lines":"x"})", "lines: expected an integer"},
        {R"({"cmd":"logs","name":"web","lines":-1})", "lines: expected an integer"},
        {R"({"cmd":"logs","name":"web","lines":99999999999999999999999})", "lines: expected an integer"},
        {R"({"cmd":"logs","name":"web","lines":1.5})", "lines: expected an integer"},
        {R"({"cmd":"logs","name":"web","follow":"yes"})", "follow: expected true or false"},
        {R"({"cmd":"status","name":["web"]})", "name: expected a string"},
        {R"({"cmd":"status"})", "name: missing"},
        {R"({"name":"web"})", "cmd: missing"},
        {R"({"cmd":"ps","colour":"red"})", "unknown field \"colour\""},
        {R"({"cmd":"frobnicate"})", "unknown command \"frobnicate\""},
        {R"([1,2,3])", "expected a JSON object"},
        {R"("ps")", "expected a JSON object"},
        {"{\"cmd\":\"ps\xFF\"}", "malformed request"},
        {"not json", "malformed request"},
        {"", "malformed request"},
    };
    std::string all;
    for (auto& [req, err] : cases) all += req + "\n";
    c.send(all);
    auto got = c.lines(cases.size());
    REQUIRE(got.size() == cases.size());
    for (size_t i = 0; i < cases.size(); ++i) {
        INFO(cases[i].first);
        auto j = json::parse(got[i]);
        CHECK(j["ok"] == false);
        CHECK_THAT(j["error"].get<std::string>(), Catch::Contains(cases[i].second));
    }
}

TEST_CASE("a signal may be named, with or without SIG") {
    Server s;
    ControlRequest r;
    CHECK(parse_request(json{{"cmd", "kill"}, {"name", "web"}, {"signal", "KILL"}}, r) == "");
    CHECK(r.signal == SIGKILL);
    CHECK(parse_request(json{{"cmd", "kill"}, {"name", "web"}, {"signal", "SIGHUP"}}, r) == "");
    CHECK(r.signal == SIGHUP);
    CHECK(s.ctl->handle({{"cmd", "kill"}, {"name", "web"}, {"signal", "SIGUSR1"}})["ok"] == true);
}

TEST_CASE("a request longer than the limit is refused and the connection closed") {
    Server s;
    Client c(*s.ctl, s.r.loop);
    std::string big(berth::control::kMaxRequest + 10, 'x');
    for (size_t at = 0; at < big.size();) {  // the socket takes it in pieces
        ssize_t n = ::write(c.fd, big.data() + at, big.size() - at);
        if (n > 0) at += size_t(n);
        s.r.loop.run_once(0);
    }
    auto j = c.one();
    CHECK_THAT(j["error"].get<std::string>(), Catch::Contains("request longer than"));
    c.lines(1);
    CHECK(c.eof);
}

TEST_CASE("idle clients time out; a follower does not") {
    Server s;
    Client idle(*s.ctl, s.r.loop), follower(*s.ctl, s.r.loop);
    follower.send(R"({"cmd":"logs","name":"web","follow":true})" "\n");
    follower.lines(2);
    REQUIRE(s.ctl->clients() == 2);
    s.r.advance(berth::control::kIdleTimeoutMs - 1500);
    CHECK(s.ctl->clients() == 2);
    s.r.advance(2000);
    CHECK(s.ctl->clients() == 1);
    idle.lines(1);
    CHECK(idle.eof);
    s.log().add_line("still here");
    auto l = follower.lines(1);
    REQUIRE(l.size() == 1);
    CHECK(json::parse(l[0])["line"] == "still here");
}

TEST_CASE("with every slot taken by idle clients, the oldest makes room for the CLI") {
    Server s;
    std::vector<std::unique_ptr<Client>> idle;
    for (size_t i = 0; i < berth::control::kMaxClients; ++i) {
        idle.push_back(std::make_unique<Client>(*s.ctl, s.r.loop));
        s.r.advance(10);  // each a little younger than the last
    }
    REQUIRE(s.ctl->clients() == berth::control::kMaxClients);
    Client cli(*s.ctl, s.r.loop);
    cli.send(R"({"cmd":"ps"})" "\n");
    CHECK(cli.one()["ok"] == true);
    CHECK(s.ctl->clients() == berth::control::kMaxClients);
    idle[0]->lines(1);
    CHECK(idle[0]->eof);  // the oldest went
    idle[1]->send(R"({"cmd":"ps"})" "\n");
    CHECK(idle[1]->one()["ok"] == true);  // the others are still served
}

TEST_CASE("a client that shuts its side still gets every reply") {
    Server s;
    Client c(*s.ctl, s.r.loop);
    c.send(R"({"cmd":"ps"})" "\n" R"({"cmd":"status","name":"web"})");  // the last without its newline
    ::shutdown(c.fd, SHUT_WR);
    auto got = c.lines(2);
    REQUIRE(got.size() == 2);
    CHECK(json::parse(got[1])["container"]["name"] == "web");
    c.lines(1);
    CHECK(c.eof);
    CHECK(s.ctl->clients() == 0);
}

TEST_CASE("a follower leaves with its client, also on a service that prints nothing") {
    Server s(R"({"log": {"console": false}})");
    for (int i = 0; i < 300; ++i) {
        Client c(*s.ctl, s.r.loop);
        c.send(R"({"cmd":"logs","name":"web","follow":true})" "\n");
        REQUIRE(c.lines(1).size() == 1);
        REQUIRE(s.log().followers() <= 2);  // this one, and the last one until its hangup is read
    }
    for (int i = 0; i < 10 && s.ctl->clients() > 0; ++i) s.r.loop.run_once(0);
    CHECK(s.ctl->clients() == 0);
    CHECK(s.log().followers() == 0);
    Client live(*s.ctl, s.r.loop);
    live.send(R"({"cmd":"logs","name":"web","follow":true})" "\n");
    live.lines(1);
    s.log().add_line("for the one still here");
    auto l = live.lines(1);
    REQUIRE(l.size() == 1);
    CHECK(json::parse(l[0])["line"] == "for the one still here");
}
