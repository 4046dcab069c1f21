#include "init/module_index.hpp"

#include <algorithm>

namespace berth::init {
namespace {

// Calls f(line) for each line without its '\n'.
template <typename F>
void each_line(const std::string& text, F f) {
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t j = text.find('\n', i);
        if (j == std::string::npos) j = text.size();
        f(text.substr(i, j - i));
        i = j + 1;
    }
}

std::vector<std::string> words(const std::string& line) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (true) {
        i = line.find_first_not_of(" \t\r", i);
        if (i == std::string::npos) break;
        std::size_t j = line.find_first_of(" \t\r", i);
        if (j == std::string::npos) j = line.size();
        out.push_back(line.substr(i, j - i));
        i = j;
    }
    return out;
}

// One bracket expression at p (just past '['), against c: advances p past ']'.
// A malformed one (no closing ']') matches a literal '['.
bool bracket_matches(const char*& p, char c, bool& malformed) {
    const char* q = p;
    bool negate = *q == '!' || *q == '^';
    if (negate) ++q;
    bool matched = false, first = true;
    while (*q && (first || *q != ']')) {
        first = false;
        char lo = *q == '\\' && q[1] ? *++q : *q;
        char hi = lo;
        if (q[1] == '-' && q[2] && q[2] != ']') {
            hi = q[2] == '\\' && q[3] ? q[3] : q[2];
            q += q[2] == '\\' && q[3] ? 3 : 2;
        }
        if (lo <= c && c <= hi) matched = true;
        ++q;
    }
    if (!*q) {
        malformed = true;
        return c == '[';
    }
    p = q + 1;
    return matched != negate;
}

}  // namespace

// fnmatch(3) without flags for what module aliases use (`*`, `?`, `[...]`, `\`),
// without glibc's locale machinery (it doubles as wide-character and iconv code
// in a static binary). `*` backtracks to its last position only: O(len * len).
bool glob_match(const std::string& pattern, const std::string& text) {
    const char* p = pattern.c_str();
    const char* t = text.c_str();
    const char* star_p = nullptr;
    const char* star_t = nullptr;
    while (*t) {
        bool advance = false;
        if (*p == '*') {
            while (*p == '*') ++p;
            star_p = p;
            star_t = t;
            continue;
        }
        const char* next = p + 1;
        if (*p == '?') advance = true;
        else if (*p == '[') {
            const char* q = p + 1;
            bool malformed = false;
            advance = bracket_matches(q, *t, malformed);
            next = malformed ? p + 1 : q;
        } else if (*p == '\\' && p[1]) {
            advance = p[1] == *t;
            next = p + 2;
        } else if (*p) {
            advance = *p == *t;
        }
        if (advance) {
            p = next;
            ++t;
        } else if (star_p) {
            p = star_p;
            t = ++star_t;
        } else {
            return false;
        }
    }
    while (*p == '*') ++p;
    return *p == '\0';
}

std::string module_name_of(const std::string& file_or_name) {
    std::string base = file_or_name.substr(file_or_name.rfind('/') + 1);
    if (auto ko = base.find(".ko"); ko != std::string::npos) base.resize(ko);
    std::replace(base.begin(), base.end(), '-', '_');
    return base;
}

ModuleIndex::ModuleIndex(const std::string& alias_text, const std::string& dep_text) {
    each_line(alias_text, [&](const std::string& line) {
        auto w = words(line);
        if (w.empty() || w[0][0] == '#') return;
        if (w.size() != 3 || w[0] != "alias") {
            ++bad_lines_;
            return;
        }
        aliases_.push_back({w[1], module_name_of(w[2])});
    });
    each_line(dep_text, [&](const std::string& line) {
        auto w = words(line);
        if (w.empty() || w[0][0] == '#') return;
        if (w[0].size() < 2 || w[0].back() != ':') {
            ++bad_lines_;
            return;
        }
        w[0].pop_back();
        deps_[module_name_of(w[0])] = std::move(w);
    });
}

std::vector<std::string> ModuleIndex::match(const std::string& modalias) const {
    std::vector<std::string> out;
    for (const auto& a : aliases_)
        if (glob_match(a.pattern, modalias) &&
            std::find(out.begin(), out.end(), a.module) == out.end())
            out.push_back(a.module);
    return out;
}

std::vector<std::string> ModuleIndex::load_files(const std::string& module) const {
    auto it = deps_.find(module_name_of(module));
    if (it == deps_.end()) return {};
    // modules.dep lists the module, then its dependencies with the first to load last.
    std::vector<std::string> out(it->second.rbegin(), it->second.rend() - 1);
    out.push_back(it->second.front());
    return out;
}

}  // namespace berth::init
