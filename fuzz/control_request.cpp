// The control server, one raw input at a time: the bytes arrive on a client
// socket as if a client wrote them (several requests, partial lines, any
// bytes), the loop runs until nothing moves, and every message sent back must
// be one valid JSON object on one line, in valid UTF-8; the server must not
// crash, leak the client, or throw.
#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include "fuzz/rig.hpp"
#include "supervisor/control_server.hpp"

using namespace fuzzing;
using json = nlohmann::json;

namespace {
struct Server {
    World w{R"({"readiness": {"type": "notify-fd", "fd": 5}, "log": {"console": false, "ringLines": 50}})"};
    ControlServer ctl{w.loop, *w.s, w.t.root + "/control", [](PowerAction) {}};
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
    static Server server;  // kept across inputs: state from earlier requests is part of the search
    Server* srv = &server;
    std::string_view in(reinterpret_cast<const char*>(data), size);

    ControlRequest r;
    (void)parse_request(in.substr(0, in.find('\n')), r);  // must not throw

    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0) return 0;
    srv->ctl.adopt(berth::fs::Fd(sv[1]));
    size_t sent = 0;
    std::string out;
    bool eof = false;
    for (int round = 0; round < 200 && !eof; ++round) {
        if (sent < in.size()) {
            ssize_t n = ::write(sv[0], in.data() + sent, in.size() - sent);
            if (n > 0) sent += size_t(n);
            if (sent == in.size()) ::shutdown(sv[0], SHUT_WR);  // then the server answers and closes
        }
        srv->w.loop.run_once(0);
        char b[65536];
        ssize_t n;
        while ((n = ::read(sv[0], b, sizeof b)) > 0) out.append(b, size_t(n));
        if (n == 0) eof = true;
        if (out.size() > (1u << 24)) break;
    }
    ::close(sv[0]);
    srv->w.loop.run_once(0);  // the server notices the close
    size_t lines = 0;
    for (size_t at = 0; at < out.size();) {
        size_t nl = out.find('\n', at);
        require(nl != std::string::npos || !eof, "a message without its newline at the end of the stream");
        if (nl == std::string::npos) break;
        std::string_view line(out.data() + at, nl - at);
        require(berth::utf8::valid(line), "a reply that is not UTF-8");
        json j = json::parse(line, nullptr, false);
        require(j.is_object(), "a reply that is not one JSON object");
        ++lines;
        at = nl + 1;
    }
    // Every complete request line got at least one message back.
    size_t requests = 0;
    for (char c : in) requests += c == '\n';
    if (eof) require(lines >= requests || in.find("\"follow\"") != std::string_view::npos, "a request without a reply");
    require(srv->ctl.clients() == 0 || !eof, "a client kept after it went away");
    return 0;
}
