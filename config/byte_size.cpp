#include "config/byte_size.hpp"

#include <cctype>
#include <string>

#include "common/error.hpp"

namespace berth::config {

namespace {

// The power of 1024 a unit stands for, or -1.
int unit_power(std::string unit) {
    for (char& c : unit) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (unit.empty() || unit == "b") return 0;
    static const std::string kLetters = "kmgtp";
    std::size_t p = kLetters.find(unit[0]);
    std::string rest = unit.substr(1);
    if (p == std::string::npos || !(rest.empty() || rest == "b" || rest == "ib")) return -1;
    return int(p) + 1;
}

}  // namespace

std::uint64_t parse_byte_size(std::string_view text) {
    const std::string s(text);
    auto fail = [&](const std::string& why) -> std::uint64_t { throw Error("size `" + s + "`: " + why, EINVAL); };
    std::size_t i = 0;
    unsigned __int128 whole = 0, frac = 0, frac_scale = 1;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
        whole = whole * 10 + unsigned(s[i++] - '0');
        if (whole > UINT64_MAX) return fail("too large");
    }
    if (i == 0) return fail("expected a number, optionally with a unit (K, M, G, T; e.g. 64M or 512KiB)");
    if (i < s.size() && s[i] == '.') {
        ++i;
        std::size_t digits = 0;
        for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, ++digits) {
            if (digits < 18) {
                frac = frac * 10 + unsigned(s[i] - '0');
                frac_scale *= 10;
            } else if (s[i] != '0') {
                return fail("too many decimals");
            }
        }
        if (digits == 0) return fail("a digit must follow the decimal point");
    }
    std::size_t u = i;
    while (u < s.size() && s[u] == ' ') ++u;  // runc accepts "64 m"
    int power = unit_power(s.substr(u));
    if (power < 0)
        return fail("unknown unit `" + s.substr(u) + "` (B, K, M, G, T or P, alone or with B or iB)");
    unsigned __int128 multiplier = static_cast<unsigned __int128>(1) << (10 * power);
    unsigned __int128 bytes = whole * multiplier;
    if (frac != 0) {
        if ((frac * multiplier) % frac_scale != 0) return fail("not a whole number of bytes");
        bytes += frac * multiplier / frac_scale;
    }
    if (bytes > UINT64_MAX) return fail("too large");
    return std::uint64_t(bytes);
}

}  // namespace berth::config
