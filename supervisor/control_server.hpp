// The control socket: a unix stream socket under /run, root only (checked with
// SO_PEERCRED), served from PID 1's event loop. One JSON request per line, one
// JSON reply per line; `logs` with follow keeps streaming lines. Every socket
// is non-blocking and every buffer bounded: a stuck client is dropped, PID 1
// never waits for one.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "supervisor/supervisor.hpp"

namespace berth::supervisor {

// What `ps` and `status` show of one container.
nlohmann::json describe(const Container& c, Millis now);

class ControlServer {
public:
    using PowerHandler = std::function<void(PowerAction)>;
    ControlServer(EventLoop& loop, Supervisor& sup, std::string path, PowerHandler power);
    ~ControlServer();

    // The reply to one request (also used by tests without a socket).
    nlohmann::json handle(const nlohmann::json& req, int conn_fd = -1);

    static constexpr size_t kMaxClients = 64;
    static constexpr size_t kMaxPending = 1 << 20;  // per client, then it is dropped

private:
    struct Conn {
        fs::Fd fd;
        std::string in, out;
        std::shared_ptr<bool> alive = std::make_shared<bool>(true);
        bool close_after_flush = false;
    };
    void accept_clients();
    void on_client(int fd, std::uint32_t events);
    void send(Conn& c, const std::string& text);
    void flush(Conn& c);
    void drop(int fd);

    EventLoop& loop_;
    Supervisor& sup_;
    std::string path_;
    PowerHandler power_;
    fs::Fd listen_;
    std::map<int, std::unique_ptr<Conn>> conns_;
};

}  // namespace berth::supervisor
