#include "common/text.hpp"

#include <charconv>

namespace berth::text {

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    while (!s.empty()) {
        size_t at = s.find(sep);
        if (at != 0) out.push_back(s.substr(0, at));
        if (at == std::string_view::npos) break;
        s.remove_prefix(at + 1);
    }
    return out;
}

std::vector<std::string_view> words(std::string_view s) {
    constexpr std::string_view kSpace = " \t\n\r\v\f";
    std::vector<std::string_view> out;
    for (size_t at = s.find_first_not_of(kSpace); at != std::string_view::npos;
         at = s.find_first_not_of(kSpace, at)) {
        size_t end = s.find_first_of(kSpace, at);
        out.push_back(s.substr(at, end == std::string_view::npos ? end : end - at));
        at = end;
    }
    return out;
}

bool parse_int(std::string_view s, int& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

}  // namespace berth::text
