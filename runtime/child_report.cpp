#include "runtime/child_report.hpp"

#include <cstdlib>

namespace berth::runtime {

namespace {
constexpr size_t kMaxMessage = 3072;
}

// Layout: "<step>\0<errno>\0<message>"; no field contains NUL.
std::string encode_report(const ChildReport& r) {
    std::string out = r.step;
    out += '\0';
    out += std::to_string(r.err);
    out += '\0';
    out.append(r.message, 0, kMaxMessage);
    return out;
}

std::optional<ChildReport> decode_report(std::string_view data) {
    size_t a = data.find('\0');
    if (a == std::string_view::npos) return std::nullopt;
    size_t b = data.find('\0', a + 1);
    if (b == std::string_view::npos) return std::nullopt;
    ChildReport r;
    r.step = std::string(data.substr(0, a));
    std::string num(data.substr(a + 1, b - a - 1));
    char* end = nullptr;
    long e = std::strtol(num.c_str(), &end, 10);
    if (num.empty() || *end != '\0') return std::nullopt;
    r.err = int(e);
    r.message = std::string(data.substr(b + 1));
    return r;
}

}  // namespace berth::runtime
