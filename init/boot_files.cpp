#include "init/boot_files.hpp"

#include "common/fs.hpp"
#include "common/text.hpp"

namespace berth::init {

std::map<std::string, std::string> parse_cmdline(const std::string& text) {
    std::map<std::string, std::string> out;
    std::string word;
    bool quoted = false, any = false;
    auto flush = [&] {
        if (!any) return;
        auto eq = word.find('=');
        if (eq == std::string::npos) out[word] = "";
        else out[word.substr(0, eq)] = word.substr(eq + 1);
        word.clear();
        any = false;
    };
    for (char c : text) {
        if (c == '"') { quoted = !quoted; any = true; continue; }
        if (!quoted && (c == ' ' || c == '\n' || c == '\t')) { flush(); continue; }
        word += c;
        any = true;
    }
    flush();
    return out;
}

std::vector<SysctlEntry> parse_sysctl(const std::string& text, std::vector<ParseProblem>& problems) {
    std::vector<SysctlEntry> out;
    int n = 0;
    text::for_each_line(text, [&](std::string_view raw) {
        ++n;
        std::string line = fs::trim(raw);
        if (line.empty() || line[0] == '#' || line[0] == ';') return;
        auto eq = line.find('=');
        if (eq == std::string::npos) {
            problems.push_back({n, "expected `key = value`"});
            return;
        }
        SysctlEntry e;
        e.key = fs::trim(line.substr(0, eq));
        e.value = fs::trim(line.substr(eq + 1));
        e.line = n;
        if (!e.key.empty() && e.key[0] == '-') {
            e.ignore_failure = true;
            e.key = fs::trim(e.key.substr(1));
        }
        if (e.key.empty() || e.key.find("..") != std::string::npos) {
            problems.push_back({n, "bad key `" + e.key + "`"});
            return;
        }
        out.push_back(std::move(e));
    });
    return out;
}

std::string sysctl_path(const std::string& key) {
    std::string p = "/proc/sys/";
    // With '/' separators dots are literal (e.g. interface names like eth0.1).
    bool slashes = key.find('/') != std::string::npos;
    for (char c : key) p += (!slashes && c == '.') ? '/' : c;
    return p;
}

std::vector<ModuleEntry> parse_module_list(const std::string& text, std::vector<ParseProblem>& problems) {
    std::vector<ModuleEntry> out;
    int n = 0;
    text::for_each_line(text, [&](std::string_view raw) {
        ++n;
        std::string line = fs::trim(raw.substr(0, raw.find('#')));
        if (line.empty()) return;
        ModuleEntry e;
        auto sp = line.find_first_of(" \t");
        e.path = line.substr(0, sp);
        if (sp != std::string::npos) e.params = fs::trim(line.substr(sp));
        e.line = n;
        if (e.path[0] != '/') {
            problems.push_back({n, "module path must be absolute: `" + e.path + "`"});
            return;
        }
        out.push_back(std::move(e));
    });
    return out;
}

bool valid_hostname(const std::string& name) {
    if (name.empty() || name.size() > 64) return false;
    size_t label = 0;
    for (size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok || (c == '-' && label == 0) || ++label > 63) return false;
    }
    return name.back() != '-' && name.back() != '.';
}

}  // namespace berth::init
