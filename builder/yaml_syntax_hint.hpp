// Hints added to a YAML syntax error for mistakes whose error points elsewhere.
#pragma once
#include <string>

namespace berth::builder {

// A `#` line at column 0 inside a block scalar (`contents: |`) ends the scalar
// (YAML 1.2, and LinuxKit's own reader refuses such a file too); the error is then
// reported at the next, still-indented line. Given the file's text and the
// 1-based line of the error, returns " (line N: …)" naming that `#` line, or "".
std::string block_scalar_comment_hint(const std::string& text, int error_line);

// A tab in the indentation of the error line or the line above it: YAML indents
// with spaces only, and the parser's message ("illegal map value") does not say
// so. Returns " (line N is indented with a tab; YAML indents with spaces)" or "".
std::string indentation_tab_hint(const std::string& text, int error_line);

}  // namespace berth::builder
