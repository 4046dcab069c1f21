// Line and word splitting for /proc files and small config files without
// iostreams: a std::istringstream in code linked into the static PID 1 brings
// in std::locale with every facet (money, time, messages, wide characters)
// and glibc's iconv and locale loader, several hundred KB that do nothing here.
#pragma once

#include <string_view>
#include <vector>

namespace berth::text {

// Calls f(line) for every '\n'-terminated line of `s`, and for a last line
// without '\n' unless it is empty: the lines std::getline would read.
template <class F>
void for_each_line(std::string_view s, F&& f) {
    while (!s.empty()) {
        size_t nl = s.find('\n');
        f(s.substr(0, nl));
        if (nl == std::string_view::npos) return;
        s.remove_prefix(nl + 1);
    }
}

// The non-empty parts of `s` between separators `sep`.
std::vector<std::string_view> split(std::string_view s, char sep);

// The words of `s` split at spaces, tabs, newlines, '\r', '\v' and '\f': what
// repeated `stream >> word` reads.
std::vector<std::string_view> words(std::string_view s);

// A whole decimal integer (an optional '-' and digits, nothing else).
bool parse_int(std::string_view s, int& out);

}  // namespace berth::text
