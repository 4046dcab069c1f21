// UTF-8 at the edges of PID 1: text from services (log lines, STATUS=) and
// from files (error messages quoting a config) may hold any bytes, while the
// control socket speaks JSON, which must be valid UTF-8. Invalid bytes are
// replaced with U+FFFD where text enters, and cuts happen between characters.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace berth::utf8 {

// U+FFFD REPLACEMENT CHARACTER, encoded.
inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// The length of the well-formed character starting at s[i] (RFC 3629), or 0
// when the bytes there are not one (invalid or cut short).
std::size_t char_length(std::string_view s, std::size_t i);

bool valid(std::string_view s);

// `s` with each byte that does not belong to a well-formed character replaced
// by U+FFFD.
std::string sanitize(std::string_view s);

// The longest prefix of `s`, at most `max` bytes, that does not end inside a
// character: when the character at `max` would be split, the cut moves back to
// its first byte. Bytes that are invalid anyway are cut where they are.
std::size_t cut(std::string_view s, std::size_t max);

// How many bytes at the end of `s` begin a character that is not complete yet
// (0 to 3): a reader keeps them for the next read instead of cutting there.
std::size_t incomplete_tail(std::string_view s);

}  // namespace berth::utf8
