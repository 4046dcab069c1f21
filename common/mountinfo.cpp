#include "common/mountinfo.hpp"

#include "common/text.hpp"

namespace berth::mountinfo {

std::string decode_escapes(std::string_view s) {
    auto octal = [](char c) { return c >= '0' && c <= '7'; };
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && octal(s[i + 1]) && octal(s[i + 2]) && octal(s[i + 3])) {
            out += char(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::vector<Entry> parse(std::string_view text) {
    std::vector<Entry> out;
    text::for_each_line(text, [&](std::string_view line) {
        // The optional fields vary in number; " - " ends them.
        size_t dash = line.find(" - ");
        if (dash == std::string_view::npos) return;
        auto left = text::words(line.substr(0, dash));
        auto right = text::words(line.substr(dash + 3));
        if (left.size() < 6 || right.size() < 2) return;
        Entry e;
        e.root = decode_escapes(left[3]);
        e.mount_point = decode_escapes(left[4]);
        e.options = std::string(left[5]);
        e.fs_type = std::string(right[0]);
        e.source = decode_escapes(right[1]);
        if (right.size() > 2) e.super_options = std::string(right[2]);
        out.push_back(std::move(e));
    });
    return out;
}

}  // namespace berth::mountinfo
