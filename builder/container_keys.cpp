#include "builder/container_keys.hpp"

#include <algorithm>
#include <map>

#include "builder/capabilities.hpp"
#include "builder/suggest.hpp"
#include "builder/yaml_input.hpp"
#include "config/device_match.hpp"
#include "config/oci_names.hpp"
#include "config/oci_resource_keys.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace berth::builder {

using nlohmann::json;

bool is_volume_name(const std::string& s) {
    return !s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") == std::string::npos;
}

namespace {

using Setter = std::function<void(ContainerSpec&, const json&, const std::string&, const KeyFail&)>;

std::string ipath(const std::string& p, std::size_t i) { return p + "[" + std::to_string(i) + "]"; }

std::string describe(const json& v) {
    switch (v.type()) {
        case json::value_t::null: return "nothing";
        case json::value_t::string: return shown_value(v.get<std::string>());
        case json::value_t::array: return "a list";
        case json::value_t::object: return "a map";
        case json::value_t::boolean: return v.get<bool>() ? "true" : "false";
        default: return shown_value(v.dump());
    }
}

[[noreturn]] void expected(const KeyFail& fail, const std::string& p, const json& v, const std::string& what) {
    fail(p, "expected " + what + ", got " + describe(v));
    throw Error(p + ": expected " + what);  // fail always throws; keeps the compiler honest
}

// Strings; plain YAML numbers are accepted where a string is expected (hostname: 1).
std::string str(const json& v, const std::string& p, const KeyFail& fail) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_integer()) return v.dump();
    expected(fail, p, v, "a string");
}

std::vector<std::string> str_list(const json& v, const std::string& p, const KeyFail& fail) {
    std::vector<std::string> out;
    if (v.is_null()) return out;
    if (!v.is_array()) expected(fail, p, v, "a list of strings");
    for (std::size_t i = 0; i < v.size(); ++i) out.push_back(str(v[i], ipath(p, i), fail));
    return out;
}

bool boolean(const json& v, const std::string& p, const KeyFail& fail) {
    if (v.is_boolean()) return v.get<bool>();
    expected(fail, p, v, "true or false");
}

std::string absolute(const json& v, const std::string& p, const KeyFail& fail, const char* what) {
    std::string s = str(v, p, fail);
    if (s.empty() || s[0] != '/') fail(p, std::string(what) + " '" + s + "' must be an absolute path");
    return s;
}

// A path inside the container: LinuxKit (like runc) takes a relative
// destination as relative to the container's root.
std::string container_path(const std::string& s) {
    if (s.empty()) return s;
    return s[0] == '/' ? s : "/" + s;
}

// A uid/gid: a number, or a name resolved against the image's /etc/passwd later.
std::string id(const json& v, const std::string& p, const KeyFail& fail) {
    if (v.is_number_unsigned() && v.get<std::uint64_t>() <= 0xffffffffULL) return v.dump();
    if (v.is_string() && !v.get<std::string>().empty() &&
        v.get<std::string>().find_first_of(": \t") == std::string::npos)
        return v.get<std::string>();
    expected(fail, p, v, "a number between 0 and 4294967295 or a user/group name");
}

std::map<std::string, std::string> str_map(const json& v, const std::string& p, const KeyFail& fail) {
    std::map<std::string, std::string> out;
    if (v.is_null()) return out;
    if (!v.is_object()) expected(fail, p, v, "a map of strings");
    for (const auto& [k, x] : v.items()) out[k] = str(x, p + "." + k, fail);
    return out;
}

std::vector<std::string> capabilities(const json& v, const std::string& p, const KeyFail& fail) {
    std::vector<std::string> caps;
    if (v.is_null()) return caps;
    if (!v.is_array()) expected(fail, p, v, "a list of capability names");
    // LinuxKit: a list of exactly [none] means no capabilities at all.
    if (v.size() == 1 && v[0].is_string()) {
        std::string only = v[0].get<std::string>();
        for (char& ch : only) ch = char(std::tolower(static_cast<unsigned char>(ch)));
        if (only == "none") return caps;
    }
    for (std::size_t i = 0; i < v.size(); ++i) {
        std::string c = str(v[i], ipath(p, i), fail);
        if (c == "all" || c == "ALL") {
            caps.push_back("all");
            continue;
        }
        std::string up;
        for (char ch : c) up += char(std::toupper(static_cast<unsigned char>(ch)));
        if (up.rfind("CAP_", 0) != 0) up = "CAP_" + up;
        if (!is_capability_name(up)) {
            std::string msg = "unknown capability '" + c + "'";
            if (auto best = closest_match(up, all_capability_names())) msg += "; did you mean '" + *best + "'?";
            fail(ipath(p, i), msg);
        }
        caps.push_back(up);
    }
    return caps;
}

// `current` is the value so far (the default, or the image label's): LinuxKit
// reads an empty value as not given, and `root` as `host`.
Namespace ns(ContainerSpec& c, const char* oci_type, Namespace current, const json& v, const std::string& p,
             const KeyFail& fail) {
    std::string s = str(v, p, fail);
    if (s.empty()) return current;
    if (s == "host" || s == "root") return Namespace::host;
    // LinuxKit's `net: none` is a new network namespace with only loopback: the same as new.
    if (s == "new" || (s == "none" && std::string(oci_type) == "network")) return Namespace::fresh;
    if (!s.empty() && s[0] == '/') {
        c.ns_paths[oci_type] = s;
        return Namespace::path;
    }
    expected(fail, p, v, std::string(oci_type) == "network" ? "host, new, none or the absolute path of a namespace file"
                                                            : "host, new or the absolute path of a namespace file");
}

Bind parse_bind(const json& v, const std::string& p, const KeyFail& fail) {
    std::string s = str(v, p, fail);
    Bind b;
    std::size_t c1 = s.find(':');
    std::size_t c2 = c1 == std::string::npos ? c1 : s.find(':', c1 + 1);
    if (c1 == std::string::npos) expected(fail, p, v, "a bind \"source:destination[:options]\"");
    b.source = s.substr(0, c1);
    b.destination = s.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1);
    if (c2 != std::string::npos) {
        std::string opts = s.substr(c2 + 1);
        for (std::size_t i = 0; i <= opts.size();) {
            std::size_t j = opts.find(',', i);
            if (j == std::string::npos) j = opts.size();
            if (j > i) b.options.push_back(opts.substr(i, j - i));
            i = j + 1;
        }
    }
    if (b.source.empty() || (b.source[0] != '/' && !is_volume_name(b.source)))
        fail(p, "bind source '" + b.source +
                    "' must be an absolute path or the name of a volume (lower-case letters, digits, '_', '-')");
    if (b.source[0] != '/') b.volume = b.source;
    b.key_path = p;
    b.destination = container_path(b.destination);
    if (b.destination.empty()) fail(p, "bind destination is empty");
    return b;
}

std::vector<Bind> binds(const json& v, const std::string& p, const KeyFail& fail) {
    std::vector<Bind> out;
    if (v.is_null()) return out;
    if (!v.is_array()) expected(fail, p, v, "a list of \"source:destination[:options]\"");
    for (std::size_t i = 0; i < v.size(); ++i) out.push_back(parse_bind(v[i], ipath(p, i), fail));
    return out;
}

json id_mappings(const json& v, const std::string& p, const KeyFail& fail) {
    if (!v.is_array()) expected(fail, p, v, "a list of {containerID, hostID, size}");
    json out = json::array();
    for (std::size_t i = 0; i < v.size(); ++i) {
        const json& m = v[i];
        std::string mp = ipath(p, i);
        if (!m.is_object()) expected(fail, mp, m, "a map {containerID, hostID, size}");
        for (const char* k : {"containerID", "hostID", "size"})
            if (!m.contains(k) || !m[k].is_number_unsigned())
                fail(mp, std::string("'") + k + "' must be a non-negative number");
        if (m.size() != 3) fail(mp, "only containerID, hostID and size are allowed");
        out.push_back(m);
    }
    return out;
}

// LinuxKit's mount point for a mount type given without a destination.
std::string default_mount_point(const std::string& type) {
    static const std::map<std::string, std::string> points = {
        {"proc", "/proc"}, {"devpts", "/dev/pts"}, {"sysfs", "/sys"},
        {"cgroup", "/sys/fs/cgroup"}, {"cgroup2", "/sys/fs/cgroup"}, {"mqueue", "/dev/mqueue"}};
    auto it = points.find(type);
    return it == points.end() ? "" : it->second;
}

// OCI mount objects: {destination, type, source, options, uidMappings, gidMappings},
// completed as LinuxKit does: the type from a pseudo file system source, the
// destination from the type, the source from the type.
std::vector<json> mounts(const json& v, const std::string& p, const KeyFail& fail, bool in_container = true) {
    static const std::vector<std::string> kKeys = {"destination", "type", "source", "options",
                                                   "uidmappings", "gidmappings", "uidMappings", "gidMappings"};
    std::vector<json> out;
    if (v.is_null()) return out;
    if (!v.is_array()) expected(fail, p, v, "a list of mounts");
    for (std::size_t i = 0; i < v.size(); ++i) {
        std::string mp = ipath(p, i);
        const json& m = v[i];
        if (!m.is_object()) expected(fail, mp, m, "a mount {destination, type, source, options}");
        json o = json::object();
        for (const auto& [k, x] : m.items()) {
            std::string kp = mp + "." + k;
            if (k == "destination") {
                // runtime.json's relative destinations mean "under the bundle's rootfs/": kept.
                o[k] = in_container ? container_path(str(x, kp, fail)) : str(x, kp, fail);
                if (o[k] == "") fail(kp, "mount destination is empty");
            } else if (k == "type" || k == "source") o[k] = str(x, kp, fail);
            else if (k == "options") o[k] = str_list(x, kp, fail);
            else if (k == "uidmappings" || k == "uidMappings") o["uidMappings"] = id_mappings(x, kp, fail);
            else if (k == "gidmappings" || k == "gidMappings") o["gidMappings"] = id_mappings(x, kp, fail);
            else {
                fail(kp, unknown_key_message(k, kKeys));
            }
        }
        std::string type = o.value("type", ""), source = o.value("source", ""), dest = o.value("destination", "");
        static const std::vector<std::string> pseudo = {"mqueue", "devpts", "proc", "sysfs", "cgroup", "cgroup2"};
        if (type.empty() && std::find(pseudo.begin(), pseudo.end(), source) != pseudo.end()) type = source;
        if (type.empty() && dest == "/dev") type = "tmpfs";
        if (type.empty() && !source.empty()) type = "bind";  // berth: a source path means a bind
        if (type.empty()) fail(mp, "mount" + (dest.empty() ? std::string() : " on '" + dest + "'") + " needs a 'type'");
        if (dest.empty()) dest = default_mount_point(type);
        if (dest.empty())
            fail(mp, "missing required key 'destination' (only proc, sysfs, devpts, cgroup and mqueue mounts have a default)");
        o["type"] = type;
        o["destination"] = dest;
        out.push_back(o);
    }
    return out;
}

// berth's entries with `match` (config/device_match.hpp): checked by the parser
// PID 1 reads runtime.json with, and written to its "berth.devices".
json matched_devices(const json& v, const std::string& p, const KeyFail& fail) {
    json out = json::array();
    if (!v.is_array()) return out;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_object() || !v[i].contains("match")) continue;
        std::vector<std::string> problems;
        config::DeviceMatch m = config::parse_device_match(v[i], ipath(p, i), problems);
        if (!problems.empty()) {
            const std::string& first = problems.front();
            std::size_t colon = first.find(": ");
            fail(first.substr(0, colon), first.substr(colon + 2));
        }
        out.push_back(config::to_json(m));
    }
    return out;
}

// LinuxKit device entries: {path, type, major, minor, mode, uid, gid}; mode octal.
// berth's `match` entries are left to matched_devices().
std::vector<json> devices(const json& v, const std::string& p, const KeyFail& fail) {
    std::vector<json> out;
    if (v.is_null()) return out;
    if (!v.is_array()) expected(fail, p, v, "a list of devices");
    for (std::size_t i = 0; i < v.size(); ++i) {
        std::string dp = ipath(p, i);
        const json& d = v[i];
        if (!d.is_object()) expected(fail, dp, d, "a device {path, type, major, minor, mode} or {match, mode, uid, gid}");
        if (d.contains("match")) continue;
        json o = json::object();
        for (const auto& [k, x] : d.items()) {
            std::string kp = dp + "." + k;
            if (k == "path") {
                // LinuxKit's `path: all` allows a whole class of devices in the device cgroup.
                o[k] = x == "all" ? std::string("all") : absolute(x, kp, fail, "device path");
            } else if (k == "type") {
                std::string t = str(x, kp, fail);
                bool all = d.value("path", json()) == "all";
                if (all ? (t != "c" && t != "b" && t != "a") : (t != "c" && t != "b" && t != "p" && t != "u"))
                    expected(fail, kp, x, all ? "c, b or a (every device)" : "c, b, u or p");
                o[k] = t;
            } else if (k == "major" || k == "minor" || k == "uid" || k == "gid") {
                if (!x.is_number_integer()) expected(fail, kp, x, "a number");
                o[k] = x;
            } else if (k == "mode") {
                std::string s = x.is_number_integer() ? x.dump() : str(x, kp, fail);
                if (s.rfind("0o", 0) == 0) s = s.substr(2);
                if (s.empty() || s.size() > 5 || s.find_first_not_of("01234567") != std::string::npos)
                    expected(fail, kp, x, "an octal file mode such as \"0666\"");
                o["fileMode"] = std::stoul(s, nullptr, 8);
            } else {
                fail(kp, unknown_key_message(k, {"path", "type", "major", "minor", "mode", "uid", "gid", "match"}));
            }
        }
        if (o.value("path", "") == "all") {
            if (!o.contains("type")) o["type"] = "a";
            for (const char* k : {"major", "minor", "fileMode", "uid", "gid"})
                if (o.contains(k)) fail(dp + "." + (std::string(k) == "fileMode" ? "mode" : k),
                                        "'path: all' names a class of devices: only 'type' applies");
            out.push_back(o);
            continue;
        }
        for (const char* req : {"path", "type"})
            if (!o.contains(req)) fail(dp, std::string("missing required key '") + req + "'");
        if (o["type"] != "p")
            for (const char* req : {"major", "minor"})
                if (!o.contains(req)) fail(dp, std::string("missing required key '") + req + "'");
        out.push_back(o);
    }
    return out;
}

// "nofile,1024,4096" with a known resource name.
std::vector<std::string> rlimits(const json& v, const std::string& p, const KeyFail& fail) {
    // The names config.json's parser knows, as LinuxKit writes them ("nofile").
    static const std::vector<std::string> kNames = [] {
        std::vector<std::string> n;
        for (auto name : oci::rlimit_names()) {
            name = name.substr(7);  // "RLIMIT_"
            for (char& ch : name) ch = char(std::tolower(static_cast<unsigned char>(ch)));
            n.push_back(name);
        }
        return n;
    }();
    std::vector<std::string> out = str_list(v, p, fail);
    for (std::size_t i = 0; i < out.size(); ++i) {
        // As LinuxKit reads it: each field trimmed, names and `unlimited` in any case.
        std::vector<std::string> parts;
        for (std::size_t at = 0;;) {
            std::size_t comma = out[i].find(',', at);
            std::string part = fs::trim(std::string_view(out[i]).substr(at, comma == std::string::npos ? std::string::npos : comma - at));
            for (char& ch : part) ch = char(std::tolower(static_cast<unsigned char>(ch)));
            parts.push_back(std::move(part));
            if (comma == std::string::npos) break;
            at = comma + 1;
        }
        auto number = [](const std::string& n) {
            if (n == "unlimited" || n == "infinity") return true;
            if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos) return false;
            std::string_view digits(n);
            digits.remove_prefix(std::min(digits.find_first_not_of('0'), digits.size()));
            return digits.size() < 20 || (digits.size() == 20 && digits <= "18446744073709551615");  // fits 64 bits
        };
        if (parts.size() != 3 || !number(parts[1]) || !number(parts[2]))
            expected(fail, ipath(p, i), v[i], "\"resource,soft,hard\" such as \"nofile,1024,4096\"");
        std::string name = parts[0];
        if (name.rfind("rlimit_", 0) == 0) name = name.substr(7);
        if (std::find(kNames.begin(), kNames.end(), name) == kNames.end()) {
            auto best = closest_match(name, kNames);
            fail(ipath(p, i), "unknown resource '" + name + "'" + (best ? "; did you mean '" + *best + "'?" : ""));
        }
        out[i] = name + "," + parts[1] + "," + parts[2];
    }
    return out;
}

// LinuxKit's `runtime:` (runtime.json): checked for shape, passed through. PID 1
// applies mounts, mkdir, cgroups, interfaces and bindNS; `namespace` (a containerd
// namespace: berth has no containerd) is refused here
// so that an image never boots meaning something else than under LinuxKit.
json runtime(const json& v, const std::string& p, const KeyFail& fail) {
    static const std::vector<std::string> kKeys = {"cgroups", "mounts", "mkdir", "interfaces", "bindNS", "namespace"};
    if (v.is_null()) return json::object();
    if (!v.is_object()) expected(fail, p, v, "a map with keys cgroups, mounts, mkdir, interfaces, bindNS, namespace");
    json out = json::object();
    for (const auto& [k, x] : v.items()) {
        std::string kp = p + "." + k;
        if (k == "cgroups" || k == "mkdir") out[k] = str_list(x, kp, fail);
        else if (k == "mounts") out[k] = mounts(x, kp, fail, false);
        else if (k == "bindNS" || k == "interfaces") out[k] = x;  // checked by the model PID 1 reads it with
        else if (k == "namespace")
            fail(kp, "'namespace' is refused: it names the containerd namespace LinuxKit's service daemon puts the "
                     "container in, and berth runs containers without containerd, so it would have no effect; "
                     "remove it");
        else {
            fail(kp, unknown_key_message(k, kKeys));
        }
    }
    return out;
}

// A size in bytes as the spec writes hugepage sizes ("2MB"): LinuxKit's schema
// declares pageSize an integer, the OCI spec a string.
std::string page_size_text(std::uint64_t bytes) {
    for (const char* unit : {"GB", "MB", "KB"}) {
        std::uint64_t scale = unit[0] == 'G' ? 1ull << 30 : unit[0] == 'M' ? 1ull << 20 : 1ull << 10;
        if (bytes >= scale && bytes % scale == 0) return std::to_string(bytes / scale) + unit;
    }
    return std::to_string(bytes);  // refused by the OCI model, with its message
}

// `v` checked against `keys` (config/oci_resource_keys.hpp): an unknown key is
// refused rather than ignored, as LinuxKit's schema refuses it. The paths of keys
// the model ignores go to `ignored`.
json resource_members(const json& v, const std::vector<oci::ResourceKey>& keys, const std::string& p,
                      const KeyFail& fail, std::vector<std::string>& ignored) {
    if (!v.is_object()) expected(fail, p, v, "a map");
    std::vector<std::string> names;
    for (const auto& k : keys) names.push_back(k.name);
    json out = json::object();
    for (const auto& [given, x] : v.items()) {
        std::string k = given == kBlockIoLinuxKit ? kBlockIoModel : given;
        std::string kp = p + "." + given;
        auto it = std::find_if(keys.begin(), keys.end(), [&](const auto& e) { return e.name == k; });
        if (it == keys.end()) fail(kp + "#key", unknown_key_message(given, names));
        if (out.contains(k)) fail(kp + "#key", "'" + k + "' is given twice (blockio and blockIO are one key)");
        if (it->ignored) ignored.push_back(kp);
        if (it->kind == oci::ResourceKey::Kind::object) {
            out[k] = resource_members(x, it->children, kp, fail, ignored);
        } else if (it->kind == oci::ResourceKey::Kind::list_of_objects) {
            if (!x.is_array()) expected(fail, kp, x, "a list");
            out[k] = json::array();
            for (std::size_t i = 0; i < x.size(); ++i) {
                json item = resource_members(x[i], it->children, ipath(kp, i), fail, ignored);
                if (k == "hugepageLimits" && item.contains("pageSize") && item["pageSize"].is_number_unsigned())
                    item["pageSize"] = page_size_text(item["pageSize"].get<std::uint64_t>());
                out[k].push_back(std::move(item));
            }
        } else {
            out[k] = x;
        }
    }
    return out;
}

const std::vector<std::pair<std::string, Setter>>& table() {
    using C = ContainerSpec;
    using J = const json&;
    using S = const std::string&;
    using F = const KeyFail&;
    static const std::vector<std::pair<std::string, Setter>> t = {
        {"capabilities", [](C& c, J v, S p, F f) { c.capabilities = capabilities(v, p, f); }},
        {"capabilities.add", [](C& c, J v, S p, F f) {
             // Added to the image label's capabilities (LinuxKit: ignored when the
             // entry sets `capabilities` itself, which replaces the list).
             for (auto& cap : capabilities(v, p, f))
                 if (std::find(c.capabilities.begin(), c.capabilities.end(), cap) == c.capabilities.end())
                     c.capabilities.push_back(cap);
         }},
        {"ambient", [](C& c, J v, S p, F f) { c.ambient = capabilities(v, p, f); }},
        {"mounts", [](C& c, J v, S p, F f) { c.mounts = mounts(v, p, f); }},
        {"binds", [](C& c, J v, S p, F f) { c.binds = binds(v, p, f); }},
        {"binds.add", [](C& c, J v, S p, F f) {
             for (auto& b : binds(v, p, f)) c.binds.push_back(std::move(b));
         }},
        {"devices", [](C& c, J v, S p, F f) {
            c.devices = devices(v, p, f);
            json live = matched_devices(v, p, f);
            if (live.empty()) c.policy.erase("devices");
            else c.policy["devices"] = live;
        }},
        {"tmpfs", [](C& c, J v, S p, F f) {
             c.tmpfs = str_list(v, p, f);
             for (std::size_t i = 0; i < c.tmpfs.size(); ++i)
                 if (c.tmpfs[i].empty() || c.tmpfs[i][0] != '/')
                     f(ipath(p, i), "tmpfs '" + c.tmpfs[i] + "' must start with an absolute path");
         }},
        {"command", [](C& c, J v, S p, F f) { c.command = str_list(v, p, f); }},
        {"env", [](C& c, J v, S p, F f) {
             c.env = str_list(v, p, f);
             for (std::size_t i = 0; i < c.env->size(); ++i)
                 if ((*c.env)[i].find('=') == std::string::npos || (*c.env)[i][0] == '=')
                     f(ipath(p, i), "expected KEY=VALUE, got '" + (*c.env)[i] + "'");
         }},
        {"cwd", [](C& c, J v, S p, F f) { c.cwd = absolute(v, p, f, "cwd"); }},
        {"net", [](C& c, J v, S p, F f) { c.net = ns(c, "network", c.net, v, p, f); }},
        {"pid", [](C& c, J v, S p, F f) { c.pid = ns(c, "pid", c.pid, v, p, f); }},
        {"ipc", [](C& c, J v, S p, F f) { c.ipc = ns(c, "ipc", c.ipc, v, p, f); }},
        {"uts", [](C& c, J v, S p, F f) { c.uts = ns(c, "uts", c.uts, v, p, f); }},
        {"userns", [](C& c, J v, S p, F f) { c.userns = ns(c, "user", c.userns, v, p, f); }},
        {"cgroupns", [](C& c, J v, S p, F f) { c.cgroupns = ns(c, "cgroup", c.cgroupns, v, p, f); }},
        {"readonly", [](C& c, J v, S p, F f) { c.readonly = boolean(v, p, f); }},
        {"maskedPaths", [](C& c, J v, S p, F f) { c.masked_paths = str_list(v, p, f); }},
        {"readonlyPaths", [](C& c, J v, S p, F f) { c.readonly_paths = str_list(v, p, f); }},
        {"uid", [](C& c, J v, S p, F f) { c.uid = id(v, p, f); }},
        {"gid", [](C& c, J v, S p, F f) { c.gid = id(v, p, f); }},
        {"additionalGids", [](C& c, J v, S p, F f) {
             c.additional_gids.clear();
             if (!v.is_array()) expected(f, p, v, "a list of group ids or names");
             for (std::size_t i = 0; i < v.size(); ++i) c.additional_gids.push_back(id(v[i], ipath(p, i), f));
         }},
        {"noNewPrivileges", [](C& c, J v, S p, F f) { c.no_new_privileges = boolean(v, p, f); }},
        {"hostname", [](C& c, J v, S p, F f) { c.hostname = str(v, p, f); }},
        {"apparmorProfile", [](C& c, J v, S p, F f) {
             c.apparmor_profile = str(v, p, f);
             if (c.apparmor_profile->empty()) expected(f, p, v, "the name of a loaded AppArmor profile");
         }},
        {"oomScoreAdj", [](C& c, J v, S p, F f) {
             if (!v.is_number_integer() || v.get<long long>() < -1000 || v.get<long long>() > 1000)
                 expected(f, p, v, "a number from -1000 to 1000");
             c.oom_score_adj = v.get<int>();
         }},
        {"rootfsPropagation", [](C& c, J v, S p, F f) {
             std::string s = str(v, p, f);
             static const std::vector<std::string> ok = {"private", "rprivate", "slave", "rslave",
                                                         "shared", "rshared", "unbindable", "runbindable"};
             if (std::find(ok.begin(), ok.end(), s) == ok.end())
                 expected(f, p, v, "one of private, rprivate, slave, rslave, shared, rshared, unbindable, runbindable");
             c.rootfs_propagation = s;
         }},
        {"cgroupsPath", [](C& c, J v, S p, F f) { c.cgroups_path = str(v, p, f); }},
        {"resources", [](C& c, J v, S p, F f) {
             if (!v.is_object()) expected(f, p, v, "an OCI linux.resources map");
             std::vector<std::string> ignored;
             c.resources = resource_members(v, oci::resource_keys(), p, f, ignored);
             for (const auto& path : ignored) {
                 auto at = c.key_pos.find(path);  // not there for an image label's keys
                 log::warn("{}{}: ignored: a cgroup v1 kernel-memory limit, deprecated by the OCI spec; "
                           "cgroup v2 counts kernel memory in memory.limit",
                           at != c.key_pos.end() ? at->second.str() + ": " : "", path);
             }
         }},
        {"sysctl", [](C& c, J v, S p, F f) { c.sysctl = str_map(v, p, f); }},
        {"rlimits", [](C& c, J v, S p, F f) { c.rlimits = rlimits(v, p, f); }},
        {"uidMappings", [](C& c, J v, S p, F f) { c.uid_mappings = id_mappings(v, p, f); }},
        {"gidMappings", [](C& c, J v, S p, F f) { c.gid_mappings = id_mappings(v, p, f); }},
        {"annotations", [](C& c, J v, S p, F f) { c.annotations = str_map(v, p, f); }},
        {"runtime", [](C& c, J v, S p, F f) { c.runtime = runtime(v, p, f); }},
        {"seccomp", [](C& c, J v, S p, F f) {
             std::string s = str(v, p, f);
             if (s != "default" && s != "unconfined") expected(f, p, v, "default or unconfined");
             c.seccomp = s;
         }},
    };
    return t;
}

}  // namespace

std::string key_error_path(const std::string& p) {
    if (p.size() < 4 || p.compare(p.size() - 4, 4, "#key") != 0) return p;
    std::string k = p.substr(0, p.size() - 4);
    std::size_t dot = k.rfind('.');
    return dot == std::string::npos ? "" : k.substr(0, dot);
}

KeyFail yaml_key_fail(const ContainerSpec& c) {
    return [&c](const std::string& p, const std::string& msg) {
        auto it = c.key_pos.find(p);
        throw YamlError(it != c.key_pos.end() ? it->second : c.pos, key_error_path(p), msg);
    };
}

const std::vector<std::string>& policy_key_names() {
    static const std::vector<std::string> k = {
        "restart", "restartDelay", "restartDelayMax", "restartResetAfter", "giveUp", "stopSignal",
        "stopTimeout", "timeout", "onFailure", "dependsOn", "waitsFor", "after", "readiness",
        "watchdog", "log"};
    return k;
}

const std::vector<std::string>& container_key_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> n = {"name", "image"};
        for (const auto& [k, s] : table()) n.push_back(k);
        for (const auto& k : policy_key_names()) n.push_back(k);
        return n;
    }();
    return names;
}

namespace {
const Setter& table_setter(const std::string& key) {
    return std::find_if(table().begin(), table().end(), [&](const auto& e) { return e.first == key; })->second;
}
}  // namespace

void apply_container_keys(ContainerSpec& c, const json& obj, const std::string& path, const KeyFail& fail) {
    if (!obj.is_object()) expected(fail, path, obj, "a map");
    const auto& policy = policy_key_names();
    // json objects iterate in key order, so `binds` is applied before `binds.add`.
    std::vector<std::string> keys;
    for (const auto& [k, v] : obj.items()) keys.push_back(k);
    for (const auto& k : keys) {
        const json& v = obj[k];
        std::string p = path.empty() ? k : path + "." + k;
        if (k == "name" || k == "image") continue;
        // LinuxKit: a list the entry sets replaces the label's and its `.add` is
        // not used; it is still checked.
        if ((k == "capabilities.add" || k == "binds.add") && obj.contains(k.substr(0, k.size() - 4))) {
            ContainerSpec scratch;
            table_setter(k)(scratch, v, p, fail);
            continue;
        }
        if (std::find(policy.begin(), policy.end(), k) != policy.end()) {
            c.policy[k] = v;
            continue;
        }
        auto it = std::find_if(table().begin(), table().end(), [&](const auto& e) { return e.first == k; });
        if (it != table().end()) {
            it->second(c, v, p, fail);
            continue;
        }
        fail(p + "#key", unknown_key_message(k, container_key_names()));  // "#key": point at the key, report the entry's path
    }
}

ContainerSpec merge_label(const ContainerSpec& c, const json& label, const std::string& label_source) {
    ContainerSpec m;
    m.stage = c.stage;
    m.index = c.index;
    m.name = c.name;
    m.image = c.image;
    m.pos = c.pos;
    m.image_pos = c.image_pos;
    m.yaml_keys = c.yaml_keys;
    m.key_pos = c.key_pos;
    m.strict = c.strict;
    m.readonly = c.strict;  // LinuxKit: writable unless a key says readonly
    m.volumes = c.volumes;
    m.container_ids = c.container_ids;
    apply_container_keys(m, label, "", [&](const std::string& p, const std::string& msg) {
        std::string shown = key_error_path(p);
        throw Error(label_source + ": " + (shown.empty() ? "" : shown + ": ") + msg, EINVAL);
    });
    std::string entry = std::string(stage_name(c.stage)) + "[" + std::to_string(c.index) + "]";
    apply_container_keys(m, c.yaml_keys, entry, yaml_key_fail(c));
    return m;
}

}  // namespace berth::builder
