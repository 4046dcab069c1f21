#include "common/utf8.hpp"

namespace berth::utf8 {

namespace {
bool in(unsigned char c, unsigned char lo, unsigned char hi) { return c >= lo && c <= hi; }

// For a lead byte: the character's length and the range its second byte must
// be in (which excludes overlong forms, surrogates and code points past
// U+10FFFF). Length 0: not a lead byte.
struct Lead {
    std::size_t length;
    unsigned char lo, hi;
};
Lead lead(unsigned char c) {
    if (c < 0x80) return {1, 0, 0};
    if (in(c, 0xC2, 0xDF)) return {2, 0x80, 0xBF};
    if (c == 0xE0) return {3, 0xA0, 0xBF};
    if (c == 0xED) return {3, 0x80, 0x9F};
    if (in(c, 0xE1, 0xEF)) return {3, 0x80, 0xBF};
    if (c == 0xF0) return {4, 0x90, 0xBF};
    if (in(c, 0xF1, 0xF3)) return {4, 0x80, 0xBF};
    if (c == 0xF4) return {4, 0x80, 0x8F};
    return {0, 0, 0};
}

// How many bytes from s[i] on match the start of a well-formed character
// (stopping at the end of s).
std::size_t matching_prefix(std::string_view s, std::size_t i) {
    Lead l = lead((unsigned char)s[i]);
    if (l.length == 0) return 0;
    std::size_t k = 1;
    for (; k < l.length && i + k < s.size(); ++k) {
        auto c = (unsigned char)s[i + k];
        if (k == 1 ? !in(c, l.lo, l.hi) : !in(c, 0x80, 0xBF)) break;
    }
    return k;
}
}  // namespace

std::size_t char_length(std::string_view s, std::size_t i) {
    if (i >= s.size()) return 0;
    std::size_t want = lead((unsigned char)s[i]).length;
    return want && matching_prefix(s, i) == want ? want : 0;
}

bool valid(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        std::size_t n = char_length(s, i);
        if (!n) return false;
        i += n;
    }
    return true;
}

std::string sanitize(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        std::size_t n = char_length(s, i);
        if (n) {
            out.append(s.substr(i, n));
            i += n;
        } else {
            out.append(kReplacement);
            ++i;
        }
    }
    return out;
}

std::size_t incomplete_tail(std::string_view s) {
    // A character is at most 4 bytes: its start is within the last 3.
    for (std::size_t back = 1; back <= 3 && back <= s.size(); ++back) {
        std::size_t i = s.size() - back;
        auto c = (unsigned char)s[i];
        if (in(c, 0x80, 0xBF)) continue;  // a continuation byte: look further back
        std::size_t want = lead(c).length;
        return want > back && matching_prefix(s, i) == back ? back : 0;
    }
    return 0;
}

std::size_t cut(std::string_view s, std::size_t max) {
    if (max >= s.size()) return s.size();
    // The character that would be split starts in the last 3 bytes before
    // `max` and is well-formed in the whole of s.
    for (std::size_t back = 1; back <= 3 && back <= max; ++back) {
        std::size_t i = max - back;
        auto c = (unsigned char)s[i];
        if (in(c, 0x80, 0xBF)) continue;
        std::size_t n = char_length(s, i);
        return n > back ? i : max;
    }
    return max;
}

}  // namespace berth::utf8
