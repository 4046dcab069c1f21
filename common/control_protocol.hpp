// The control socket's protocol, shared by PID 1's server (supervisor/
// control_server) and the `berth` CLI (ctl/). docs/cli.md describes it.
//
// Framing: a unix stream socket; each message is one JSON object on one line
// ("\n"-terminated, valid UTF-8). The client sends requests, one per line, and
// may send several at once: they are answered in order, one reply each.
//
//   request   {"cmd": CMD, "name": NAME, ...}          fields below
//   reply     {"ok": true, ...} or {"ok": false, "error": TEXT}
//
// `logs` is the one reply longer than a line: a header {"ok": true,
// "dropped": N} (lines the ring had already dropped), then one
// {"t": WALL_MS, "line": TEXT} per line, then {"end": true}. With "follow",
// there is no end: new lines keep coming until the client closes. A reader
// that falls behind the ring gets {"skipped": N} where lines were lost.
#pragma once
#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace berth::control {

constexpr const char* kSocketPath = "/run/berth/control";

// Request fields.
namespace field {
constexpr const char* cmd = "cmd";
constexpr const char* name = "name";        // a container, for the commands that need one
constexpr const char* lines = "lines";      // logs: how many of the newest lines, 0..kMaxLogLines
constexpr const char* follow = "follow";    // logs: keep streaming new lines
constexpr const char* signal = "signal";    // kill: a number or a name ("KILL", "SIGKILL")
}  // namespace field

// Reply fields.
namespace reply {
constexpr const char* ok = "ok";
constexpr const char* error = "error";
constexpr const char* containers = "containers";  // ps: one object per container
constexpr const char* container = "container";    // status
constexpr const char* dropped = "dropped";        // logs header
constexpr const char* time = "t";                 // logs line: wall clock, ms since the epoch
constexpr const char* line = "line";              // logs line: the text
constexpr const char* skipped = "skipped";        // logs: lines lost while streaming
constexpr const char* end = "end";                // logs: the last message of the reply
}  // namespace reply

// Limits.
constexpr std::size_t kMaxRequest = 64 * 1024;     // one request line; longer ones close the connection
constexpr std::size_t kMaxClients = 64;            // then the oldest idle client makes room
constexpr long long kIdleTimeoutMs = 10000;        // without a request (a `logs -f` is never idle)
constexpr long long kMaxLogLines = 1000000;        // the largest "lines"
constexpr int kDefaultLogLines = 100;
constexpr long long kClientTimeoutMs = 10000;      // the CLI's default wait for a connection or reply

// One message as sent on the socket: compact, bytes that are not UTF-8
// replaced (never an exception), and the newline that ends it.
inline std::string to_line(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace berth::control
