#include "config/duration.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace berth::config {

namespace {
constexpr double kMaxSeconds = 1e9;  // ~31 years: anything longer is a typo
}

std::optional<Millis> parse_duration_text(std::string_view s) {
    size_t i = 0, dots = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) dots += s[i++] == '.';
    if (i == 0 || i > 12 || dots > 1 || s[0] == '.' || s[i - 1] == '.') return std::nullopt;
    std::string number(s.substr(0, i));
    char* end = nullptr;
    double n = std::strtod(number.c_str(), &end);
    if (*end) return std::nullopt;
    std::string_view unit = s.substr(i);
    double scale = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60000 : unit == "h" ? 3600000 : -1;
    if (scale < 0 || n * scale > kMaxSeconds * 1000) return std::nullopt;
    return Millis(std::llround(n * scale));
}

std::optional<Millis> parse_duration(const nlohmann::json& v) {
    if (v.is_number()) {
        double s = v.get<double>();
        if (!(s >= 0) || s > kMaxSeconds) return std::nullopt;
        return Millis(std::llround(s * 1000));
    }
    if (!v.is_string()) return std::nullopt;
    return parse_duration_text(v.get_ref<const std::string&>());
}

std::string format_duration(Millis ms) {
    if (ms > 0 && ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
    if (ms > 0 && ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
    if (ms > 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

}  // namespace berth::config
