// JSON documents PID 1 reads: the image's /etc/berth/image.json, each bundle's
// runtime.json and the control socket's requests. Parsing is bounded in depth as
// well as size: nlohmann's parser is iterative, but copying, comparing or dumping
// a value recurses once per level, so a 400 KB file of nested brackets would
// overflow PID 1's stack long after it parsed.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace berth::config {

// The largest image.json or runtime.json PID 1 reads (config.json's bound too).
inline constexpr std::size_t kMaxJsonDocumentBytes = 1u << 20;
// Deeper than any document berth writes or reads (runtime.json's deepest is 5).
inline constexpr int kMaxJsonDepth = 64;

// How deeply arrays and objects nest in `text` (brackets outside strings): a
// linear scan, no recursion, whatever the text holds.
int json_nesting_depth(std::string_view text);

// The document, or "" in `why` (not JSON, or nested deeper than kMaxJsonDepth).
std::optional<nlohmann::json> parse_bounded_json(std::string_view text, std::string& why);

// Throws oci::ConfigError(source, {why}) where parse_bounded_json has none.
nlohmann::json parse_json_document(std::string_view text, const std::string& source);

// The file `path` parsed: nullopt when it does not exist. Throws ConfigError
// when it is not a regular file (a FIFO would block, /dev/zero never end), is
// larger than kMaxJsonDocumentBytes, cannot be read or is not bounded JSON.
std::optional<nlohmann::json> read_json_document(const std::string& path);

}  // namespace berth::config
