#include "init/module_index.hpp"

#include <fnmatch.h>

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

}  // namespace

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
        if (::fnmatch(a.pattern.c_str(), modalias.c_str(), 0) == 0 &&
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
