#include "builder/yaml_syntax_hint.hpp"

#include <algorithm>
#include <vector>

namespace berth::builder {

namespace {

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t nl = text.find('\n', start);
        if (nl == std::string::npos) nl = text.size();
        lines.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    return lines;
}

bool blank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }

std::size_t indent_of(const std::string& line) {
    std::size_t n = line.find_first_not_of(' ');
    return n == std::string::npos ? line.size() : n;
}

// "key: |", "- >-", "key: |2 # note": the line opens a block scalar.
bool opens_block_scalar(const std::string& line) {
    std::string s = line;
    if (std::size_t hash = s.find(" #"); hash != std::string::npos) s.erase(hash);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
    std::size_t i = s.size();
    while (i > 0 && (s[i - 1] == '-' || s[i - 1] == '+' || (s[i - 1] >= '1' && s[i - 1] <= '9'))) --i;
    if (i == 0 || (s[i - 1] != '|' && s[i - 1] != '>')) return false;
    return i == 1 || s[i - 2] == ' ';
}

}  // namespace

std::string block_scalar_comment_hint(const std::string& text, int error_line) {
    std::vector<std::string> lines = split_lines(text);
    if (error_line < 2 || static_cast<std::size_t>(error_line) > lines.size()) return "";
    std::size_t at = error_line - 1;
    if (blank(lines[at]) || indent_of(lines[at]) == 0) return "";
    // The `#` line(s) at column 0 right above the error line.
    std::size_t comment = at;
    std::size_t k = at;
    while (k > 0) {
        --k;
        if (blank(lines[k])) continue;
        if (lines[k][0] != '#') break;
        comment = k;
    }
    if (comment == at || lines[k][0] == '#') return "";
    // Up from there, through lines indented deeper than it, to the line that
    // opened a block scalar.
    std::size_t deepest = indent_of(lines[at]);
    for (std::size_t up = k + 1, seen = 0; up-- > 0 && seen < 500; ++seen) {
        if (blank(lines[up])) continue;
        std::size_t ind = indent_of(lines[up]);
        if (opens_block_scalar(lines[up]) && ind < deepest)
            return " (line " + std::to_string(comment + 1) +
                   ": a '#' at column 0 ends the block scalar opened at line " + std::to_string(up + 1) +
                   ", as in LinuxKit's own YAML reader; indent it to keep it in the text, or remove it)";
        if (ind < deepest) deepest = ind;
        if (deepest == 0) break;
    }
    return "";
}

std::string indentation_tab_hint(const std::string& text, int error_line) {
    std::vector<std::string> lines = split_lines(text);
    if (error_line < 1 || static_cast<std::size_t>(error_line) > lines.size()) return "";
    for (int n = error_line; n >= 1 && n >= error_line - 1; --n) {
        const std::string& line = lines[n - 1];
        std::size_t lead = line.find_first_not_of(" \t");
        if (line.find('\t') < std::min(lead, line.size()))
            return " (line " + std::to_string(n) + " is indented with a tab; YAML indents with spaces)";
    }
    return "";
}

}  // namespace berth::builder
