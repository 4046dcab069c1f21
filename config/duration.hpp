// Durations as every berth file writes them: "250ms", "10s", "2m", "1h", "1.5s",
// or (in JSON) a number of seconds. The one parser for the service policy,
// image.json, the YAML and the command lines.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace berth::config {

using Millis = std::int64_t;

// A number with a unit (ms, s, m, h); nullopt when malformed, negative or
// beyond a billion seconds.
std::optional<Millis> parse_duration_text(std::string_view text);

// A JSON string as above, or a JSON number of seconds.
std::optional<Millis> parse_duration(const nlohmann::json& v);

// The shortest exact text: 1500 -> "1500ms", 2000 -> "2s", 120000 -> "2m".
// parse_duration_text(format_duration(ms)) == ms for every ms >= 0.
std::string format_duration(Millis ms);

}  // namespace berth::config
