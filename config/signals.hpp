// Signal names and numbers, one table for the service policy, PID 1's control
// CLI and berth-runc: "TERM", "SIGTERM", "15", "RTMIN+3" as kill(1) takes them.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace berth::config {

// The signal number; nullopt when the name is unknown or the number out of range.
std::optional<int> signal_from_name(std::string_view text);

// "SIGTERM", "SIGRTMIN+3"; "" for a number that is no signal.
std::string signal_name(int sig);

}  // namespace berth::config
