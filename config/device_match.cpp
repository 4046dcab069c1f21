#include "config/device_match.hpp"

#include <cctype>

namespace berth::config {

using json = nlohmann::json;

namespace {

constexpr const char* kForms =
    "/dev/NAME, /dev/disk/by-*/NAME (globs allowed), modalias:PATTERN or VENDOR:PRODUCT (4 hex digits each)";

// A glob the matcher can read: every '[' has its ']' and nothing ends in '\'.
bool well_formed_glob(const std::string& g) {
    for (std::size_t i = 0; i < g.size(); ++i) {
        if (g[i] == '\\') {
            if (++i == g.size()) return false;
        } else if (g[i] == '[') {
            std::size_t close = g.find(']', i + 2);  // "[]x]" holds a ']'
            if (close == std::string::npos) return false;
            i = close;
        }
    }
    return true;
}

bool has_space(const std::string& s) {
    for (char c : s)
        if (std::isspace(static_cast<unsigned char>(c)) || c == '\0') return true;
    return false;
}

// Sets m.by and m.pattern from `match`, or names what is wrong.
std::string read_pattern(const std::string& text, DeviceMatch& m) {
    if (text.empty()) return "empty; expected " + std::string(kForms);
    if (has_space(text)) return "\"" + text + "\" has white space; expected " + kForms;
    if (text.rfind("modalias:", 0) == 0) {
        m.by = DeviceMatch::By::modalias;
        m.pattern = text.substr(9);
        if (m.pattern.empty()) return "\"modalias:\" needs a pattern, such as \"modalias:pci:v00001AF4d*\"";
    } else if (text[0] == '/') {
        if (text.rfind("/dev/", 0) != 0 || text.size() == 5)
            return "\"" + text + "\" is not under /dev; expected " + kForms;
        if (text.find("/../") != std::string::npos || text.find("/./") != std::string::npos ||
            text.find("//") != std::string::npos || text.back() == '/' ||
            text.compare(text.size() - 3, 3, "/..") == 0)
            return "\"" + text + "\" must be a plain path (no '.', '..', '//' or trailing '/')";
        bool link = text.rfind("/dev/disk/", 0) == 0;
        if (link && text.find('/', 10) == std::string::npos)
            return "\"" + text + "\" names no link; expected /dev/disk/by-id/NAME, by-uuid, by-label or by-partuuid";
        if (!link && text.find('/', 5) != std::string::npos)
            return "\"" + text + "\": only the kernel's names (/dev/NAME) and /dev/disk links can be matched";
        m.by = link ? DeviceMatch::By::disk_link : DeviceMatch::By::name;
        m.pattern = text;
    } else if (std::string id = normalise_device_id(text); !id.empty()) {
        m.by = DeviceMatch::By::id;
        m.pattern = id;
        return "";
    } else {
        return "\"" + text + "\" is none of " + kForms;
    }
    if (!well_formed_glob(m.pattern)) return "\"" + text + "\": unclosed '[' or trailing '\\' in the pattern";
    return "";
}

}  // namespace

std::string normalise_device_id(const std::string& text) {
    if (text.size() != 9 || text[4] != ':') return "";
    std::string out;
    for (std::size_t i = 0; i < 9; ++i) {
        if (i == 4) {
            out += ':';
            continue;
        }
        if (!std::isxdigit(static_cast<unsigned char>(text[i]))) return "";
        out += char(std::tolower(static_cast<unsigned char>(text[i])));
    }
    return out;
}

DeviceMatch parse_device_match(const json& entry, const std::string& path, std::vector<std::string>& problems) {
    DeviceMatch m;
    auto bad = [&](const std::string& key, const std::string& why) {
        problems.push_back(path + (key.empty() ? "" : "." + key) + ": " + why);
    };
    if (!entry.is_object()) {
        bad("", "expected a device {match, mode, uid, gid}, got " + entry.dump());
        return m;
    }
    bool has_match = false;
    for (const auto& [k, v] : entry.items()) {
        if (k == "match") {
            has_match = true;
            if (!v.is_string()) bad(k, "expected a string (" + std::string(kForms) + "), got " + v.dump());
            else if (std::string why = read_pattern(v.get<std::string>(), m); !why.empty()) bad(k, why);
        } else if (k == "mode") {
            std::string s = v.is_number_integer() ? v.dump() : v.is_string() ? v.get<std::string>() : "";
            if (s.rfind("0o", 0) == 0) s = s.substr(2);
            if (s.empty() || s.size() > 4 || s.find_first_not_of("01234567") != std::string::npos)
                bad(k, "expected an octal permission mode such as \"0660\", got " + v.dump());
            else m.mode = std::uint32_t(std::stoul(s, nullptr, 8));
        } else if (k == "uid" || k == "gid") {
            if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 0xfffffffeLL)
                bad(k, "expected a number from 0 to 4294967294, got " + v.dump());
            else (k == "uid" ? m.uid : m.gid) = std::uint32_t(v.get<std::int64_t>());
        } else if (k == "type" || k == "major" || k == "minor" || k == "path") {
            bad(k, "a matched device gets its name, type and numbers from the kernel when it appears; '" + k +
                       "' belongs to a fixed device entry (without 'match')");
        } else {
            bad(k, "unknown key (expected match, mode, uid, gid)");
        }
    }
    if (!has_match) bad("match", "required");
    return m;
}

json to_json(const DeviceMatch& m) {
    std::string text = m.by == DeviceMatch::By::modalias ? "modalias:" + m.pattern : m.pattern;
    std::string mode = "0000";  // octal, as written in the YAML (no printf in PID 1)
    for (int i = 3, v = int(m.mode & 07777); i >= 0; --i, v >>= 3) mode[std::size_t(i)] = char('0' + (v & 7));
    json o = {{"match", text}, {"mode", mode}};
    if (m.uid) o["uid"] = m.uid;
    if (m.gid) o["gid"] = m.gid;
    return o;
}

}  // namespace berth::config
