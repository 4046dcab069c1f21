// The client side of the control socket: one JSON line out, JSON lines back.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "common/fs.hpp"

namespace berth::ctl {

class CtlConnection {
public:
    explicit CtlConnection(const std::string& path);  // throws Error naming the socket
    nlohmann::json request(const nlohmann::json& req);
    nlohmann::json next();  // the next line; null at end of stream

private:
    fs::Fd fd_;
    std::string buf_;
};

}  // namespace berth::ctl
