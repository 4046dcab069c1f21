// The client side of the control socket (protocol: common/control_protocol.hpp):
// JSON lines out, JSON lines back, every wait bounded by a timeout unless the
// caller asks to wait for good (`logs -f`).
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "common/control_protocol.hpp"
#include "common/fs.hpp"

namespace berth::ctl {

class CtlConnection {
public:
    // Connects within timeout_ms (<= 0: no limit); throws Error naming the
    // socket.
    explicit CtlConnection(const std::string& path, long long timeout_ms = control::kClientTimeoutMs);
    // Sends one request and returns its reply (the first message of it).
    nlohmann::json request(const nlohmann::json& req);
    // The next message, within timeout_ms (< 0: no limit). Throws Error on a
    // timeout, or when PID 1 closed the connection.
    nlohmann::json next(long long timeout_ms);
    nlohmann::json next() { return next(timeout_ms_); }

private:
    fs::Fd fd_;
    std::string path_, buf_;
    long long timeout_ms_;
};

}  // namespace berth::ctl
