#include "config/json_document.hpp"

#include <cerrno>
#include <cstring>

#include "common/fs.hpp"
#include "config/oci_spec.hpp"

namespace berth::config {

int json_nesting_depth(std::string_view text) {
    int depth = 0, deepest = 0;
    bool in_string = false, escaped = false;
    for (char ch : text) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (ch == '\\') escaped = true;
            else if (ch == '"') in_string = false;
            continue;
        }
        if (ch == '"') in_string = true;
        else if (ch == '[' || ch == '{') deepest = std::max(deepest, ++depth);
        else if ((ch == ']' || ch == '}') && depth > 0) --depth;
    }
    return deepest;
}

std::optional<nlohmann::json> parse_bounded_json(std::string_view text, std::string& why) {
    if (json_nesting_depth(text) > kMaxJsonDepth) {
        why = "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
        return std::nullopt;
    }
    nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
    if (doc.is_discarded()) {
        why = "not valid JSON";
        return std::nullopt;
    }
    return doc;
}

nlohmann::json parse_json_document(std::string_view text, const std::string& source) {
    std::string why;
    auto doc = parse_bounded_json(text, why);
    if (!doc) throw oci::ConfigError(source, {why});
    return std::move(*doc);
}

std::optional<nlohmann::json> read_json_document(const std::string& path) {
    std::optional<std::string> text = fs::try_read_regular_file(path, kMaxJsonDocumentBytes);
    if (!text) {
        if (errno == ENOENT) return std::nullopt;
        throw oci::ConfigError(path, {errno == EFBIG ? "larger than " + std::to_string(kMaxJsonDocumentBytes) + " bytes"
                                                     : std::string(std::strerror(errno))});
    }
    return parse_json_document(*text, path);
}

}  // namespace berth::config
