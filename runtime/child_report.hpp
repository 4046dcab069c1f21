// The message a container child sends to its parent when a setup step fails
// before execve: which step, the errno and a human readable reason.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace berth::runtime {

struct ChildReport {
    std::string step;
    int err = 0;
    std::string message;
};

// Fits in one SOCK_SEQPACKET message (the message is truncated to ~3 KiB).
std::string encode_report(const ChildReport& r);
std::optional<ChildReport> decode_report(std::string_view data);

}  // namespace berth::runtime
