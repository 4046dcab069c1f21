// The control socket: a unix stream socket under /run, root only (checked with
// SO_PEERCRED), served from PID 1's event loop. The protocol (framing, fields,
// limits) is common/control_protocol.hpp. Every socket is non-blocking and
// every buffer bounded: a reply of any size (a `logs` of the whole ring) is
// produced as the socket drains, so PID 1 never holds more than a small
// output buffer per client and never waits for one. Idle clients time out,
// and when every slot is taken the oldest idle client makes room, so the CLI
// always gets in. Every request gets a reply: malformed ones an error naming
// the field, and no exception leaves a handler.
#pragma once
#include <signal.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/control_protocol.hpp"
#include "supervisor/supervisor.hpp"

namespace berth::supervisor {

// What `ps` and `status` show of one container.
nlohmann::json describe(const Container& c, Millis now);

// One request, checked: every field has its type and range.
struct ControlRequest {
    std::string cmd, name;
    long long lines = control::kDefaultLogLines;
    bool follow = false;
    int signal = SIGTERM;
};
// "" and `out` filled, or the error to reply, naming the field.
std::string parse_request(std::string_view line, ControlRequest& out);
std::string parse_request(const nlohmann::json& j, ControlRequest& out);

class ControlServer {
public:
    using PowerHandler = std::function<void(PowerAction)>;
    ControlServer(EventLoop& loop, Supervisor& sup, std::string path, PowerHandler power);
    ~ControlServer();

    // The reply to one request that is not `logs` (tests use it without a
    // socket; `logs` answers only its header here).
    nlohmann::json handle(const nlohmann::json& req);

    // Serves an already connected socket as a client (accept() does this;
    // tests and the fuzzer hand in one end of a socketpair).
    void adopt(fs::Fd fd);
    size_t clients() const { return conns_.size(); }

    static constexpr size_t kOutBuffer = 64 * 1024;  // per client: refilled as the socket drains

private:
    // A `logs` reply in progress: the next line to send, by sequence number.
    struct LogStream {
        std::string name;
        std::uint64_t next = 0, end = 0;  // end: where a reply without follow stops
        bool follow = false;
        ServiceLog::FollowerId follower = 0;  // 0: not registered with the log
    };
    struct Conn {
        fs::Fd fd;
        std::string in, out;
        size_t out_sent = 0;                 // bytes of `out` already on the socket
        std::optional<LogStream> stream;
        Millis last_active = 0;              // a request served or reply bytes sent
        bool eof = false;                    // the client shut its side: answer, then close
        std::shared_ptr<bool> alive = std::make_shared<bool>(true);
    };
    void accept_clients();
    bool make_room();
    void on_client(int fd, std::uint32_t events);
    bool read_input(Conn& c);
    void pump(int fd);
    void serve_requests(Conn& c);
    std::string answer(std::string_view line, Conn& c);
    nlohmann::json dispatch(const ControlRequest& r, Conn* c);
    void produce(Conn& c);
    bool flush(Conn& c);
    void rearm(Conn& c);
    bool idle(const Conn& c) const;
    bool has_work(const Conn& c) const;
    void check_idle();
    void drop(int fd);
    void unfollow(Conn& c);

    EventLoop& loop_;
    Supervisor& sup_;
    std::string path_;
    PowerHandler power_;
    fs::Fd listen_;
    std::map<int, std::unique_ptr<Conn>> conns_;
    EventLoop::TimerId idle_timer_ = 0;
};

}  // namespace berth::supervisor
