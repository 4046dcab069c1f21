#include "builder/oci_config_gen.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "builder/bundle.hpp"
#include "builder/capabilities.hpp"
#include "builder/container_keys.hpp"
#include "common/fs.hpp"

namespace berth::builder {

using nlohmann::json;

namespace {

json mount(const std::string& dst, const std::string& type, const std::string& src,
           std::vector<std::string> options) {
    return json{{"destination", dst}, {"type", type}, {"source", src}, {"options", std::move(options)}};
}

std::string entry_path(const ContainerSpec& c) {
    return std::string(stage_name(c.stage)) + "[" + std::to_string(c.index) + "]";
}

// KEY=VALUE list with later keys replacing earlier ones, order of first appearance kept.
void set_env(std::vector<std::string>& env, const std::string& e) {
    std::string key = e.substr(0, e.find('='));
    for (auto& x : env)
        if (x.substr(0, x.find('=')) == key) {
            x = e;
            return;
        }
    env.push_back(e);
}

// The primary group of a uid in the image's /etc/passwd, if listed.
std::optional<std::uint32_t> primary_gid(std::uint32_t uid, const std::string& passwd) {
    for (std::size_t i = 0; i < passwd.size();) {
        std::size_t nl = passwd.find('\n', i);
        std::string line = passwd.substr(i, nl == std::string::npos ? std::string::npos : nl - i);
        i = nl == std::string::npos ? passwd.size() : nl + 1;
        std::vector<std::string> f;
        for (std::size_t a = 0; a <= line.size();) {
            std::size_t b = line.find(':', a);
            if (b == std::string::npos) b = line.size();
            f.push_back(line.substr(a, b - a));
            a = b + 1;
        }
        if (f.size() >= 4 && f[2] == std::to_string(uid) && !f[3].empty() &&
            f[3].find_first_not_of("0123456789") == std::string::npos)
            return std::uint32_t(std::stoul(f[3]));
    }
    return std::nullopt;
}

struct Ids { std::uint32_t uid = 0, gid = 0; bool gid_known = false; };

// The image's User: "name" | "uid" | "uid:gid" | "name:group".
Ids image_user(const ImageDefaults& img) {
    Ids ids;
    if (img.user.empty()) return ids;
    std::string u = img.user, g;
    if (auto colon = u.find(':'); colon != std::string::npos) {
        g = u.substr(colon + 1);
        u = u.substr(0, colon);
    }
    ids.uid = resolve_id(u, img.passwd, "/etc/passwd");
    if (!g.empty()) {
        ids.gid = resolve_id(g, img.group, "/etc/group");
        ids.gid_known = true;
    } else {
        ids.gid = primary_gid(ids.uid, img.passwd).value_or(0);
    }
    return ids;
}

json namespaces(const ContainerSpec& c) {
    json out = json::array();
    auto add = [&](Namespace n, const char* type) {
        if (n == Namespace::fresh) out.push_back({{"type", type}});
        if (n == Namespace::path) out.push_back({{"type", type}, {"path", c.ns_paths.at(type)}});
    };
    add(c.pid, "pid");
    out.push_back({{"type", "mount"}});
    add(c.net, "network");
    add(c.ipc, "ipc");
    add(c.uts, "uts");
    add(c.userns, "user");
    add(c.cgroupns, "cgroup");
    return out;
}

json rlimits(const std::vector<std::string>& list) {
    json out = json::array();
    for (const auto& r : list) {
        std::size_t a = r.find(','), b = r.find(',', a + 1);
        auto num = [](const std::string& s) -> std::uint64_t {
            return s == "unlimited" || s == "infinity" ? ~std::uint64_t(0) : std::stoull(s);
        };
        std::string type = "RLIMIT_";
        for (char ch : r.substr(0, a)) type += char(std::toupper(static_cast<unsigned char>(ch)));
        out.push_back({{"type", type}, {"soft", num(r.substr(a + 1, b - a - 1))}, {"hard", num(r.substr(b + 1))}});
    }
    return out;
}

}  // namespace

std::uint32_t resolve_id(const std::string& name, const std::string& db, const char* db_name) {
    if (!name.empty() && name.size() <= 10 && name.find_first_not_of("0123456789") == std::string::npos) {
        unsigned long long v = std::stoull(name);
        if (v <= 0xffffffffULL) return std::uint32_t(v);
    }
    for (std::size_t i = 0; i < db.size();) {
        std::size_t nl = db.find('\n', i);
        std::string line = db.substr(i, nl == std::string::npos ? std::string::npos : nl - i);
        i = nl == std::string::npos ? db.size() : nl + 1;
        std::size_t c1 = line.find(':'), c2 = line.find(':', c1 + 1), c3 = line.find(':', c2 + 1);
        if (c3 == std::string::npos || line.substr(0, c1) != name) continue;
        std::string id = line.substr(c2 + 1, c3 - c2 - 1);
        if (!id.empty() && id.find_first_not_of("0123456789") == std::string::npos) return std::uint32_t(std::stoul(id));
    }
    throw Error(std::string("no entry for '") + name + "' in the image's " + db_name, ENOENT);
}

namespace {

// A path under linux.resources' blockIO shown as the file spells the key
// (container_keys.hpp), so that it is found in c.key_pos.
std::string as_written(const ContainerSpec& c, std::string path) {
    const std::string model = std::string(".resources.") + kBlockIoModel;
    const std::string linuxkit = std::string(".resources.") + kBlockIoLinuxKit;
    std::size_t at = path.find(model);
    if (at == std::string::npos || c.key_pos.count(path.substr(0, at + model.size()))) return path;
    if (c.key_pos.count(path.substr(0, at) + linuxkit)) path.replace(at, model.size(), linuxkit);
    return path;
}

// The YAML path of a config.json problem path: process.* and linux.* keys are
// the entry's own keys ("linux.resources.memory.swappiness" ->
// "services[0].resources.memory.swappiness"), the rest the entry itself.
std::string yaml_path_of(const ContainerSpec& c, const std::string& oci_path) {
    for (const char* prefix : {"linux.", "process.", ""}) {
        std::string pre = prefix;
        if (oci_path.rfind(pre, 0) != 0) continue;
        std::string rest = oci_path.substr(pre.size());
        if (rest.rfind("user.", 0) == 0) rest = rest.substr(5);
        return as_written(c, entry_path(c) + (rest.empty() ? "" : "." + rest));
    }
    return entry_path(c);
}

// Where a YAML path was written: the path itself, else its nearest recorded
// parent, else the entry.
SourcePos yaml_pos_of(const ContainerSpec& c, std::string path) {
    while (!path.empty()) {
        if (auto it = c.key_pos.find(path); it != c.key_pos.end()) return it->second;
        std::size_t cut = path.find_last_of(".[");
        if (cut == std::string::npos) break;
        path = path.substr(0, cut);
    }
    return c.pos;
}

}  // namespace

namespace {

// Every problem ("oci.path: why"), the first at its YAML line.
[[noreturn]] void throw_at_yaml(const ContainerSpec& c, const std::vector<std::string>& problems) {
    std::string first_path, message;
    for (const auto& problem : problems) {
        std::size_t colon = problem.find(": ");
        std::string oci_path = colon == std::string::npos ? "" : problem.substr(0, colon);
        std::string why = colon == std::string::npos ? problem : problem.substr(colon + 2);
        std::string path = yaml_path_of(c, oci_path);
        if (first_path.empty()) {
            first_path = path;
            message = why;
        } else {
            message += "; " + path + ": " + why;
        }
    }
    throw YamlError(yaml_pos_of(c, first_path), first_path, message);
}

}  // namespace

namespace {

// The problems ("oci.path: why") PID 1 would find in `draft`; `spec` gets the model when there are none.
std::vector<std::string> oci_config_problems(const ContainerSpec& c, const json& draft, oci::Spec& spec) {
    try {
        spec = oci::parse_spec(draft, c.pos.str() + ": " + entry_path(c));
    } catch (const oci::ConfigError& e) {
        return e.problems();  // PID 1 would refuse the bundle
    }
    // PID 1 owns a cgroup v2 machine: it refuses cgroup v1 knobs at boot.
    std::vector<std::string> problems;
    if (spec.linux_.resources)
        for (const auto& f : oci::cgroup_v1_only_fields(*spec.linux_.resources))
            problems.push_back("linux.resources." + f + ": cgroup v2 has no per-cgroup " + f.substr(f.find('.') + 1) +
                               " (a cgroup v1 setting; berth images run on cgroup v2)");
    return problems;
}

}  // namespace

oci::Spec validate_oci_config(const ContainerSpec& c, const json& draft) {
    oci::Spec spec;
    std::vector<std::string> problems = oci_config_problems(c, draft, spec);
    if (!problems.empty()) throw_at_yaml(c, problems);
    return spec;
}

std::vector<YamlError> oci_config_errors(const ContainerSpec& c, const json& draft) {
    oci::Spec spec;
    std::vector<YamlError> out;
    for (const auto& problem : oci_config_problems(c, draft, spec)) {
        try {
            throw_at_yaml(c, {problem});
        } catch (const YamlError& e) {
            out.push_back(e);
        }
    }
    return out;
}

json generate_oci_config(const ContainerSpec& c, const ImageDefaults& img, const SecurityDefaults& sec) {
    // Written through the model PID 1 loads it with, after the same checks.
    return oci::spec_to_json(validate_oci_config(c, draft_oci_config(c, img, sec)));
}

json draft_oci_config(const ContainerSpec& c, const ImageDefaults& img, const SecurityDefaults& sec) {
    const std::string at = entry_path(c);
    // Arguments: the YAML's command, else the image's Entrypoint + Cmd.
    std::vector<std::string> args;
    if (c.command) {
        args = *c.command;
    } else {
        args = img.entrypoint;
        args.insert(args.end(), img.cmd.begin(), img.cmd.end());
    }
    if (args.empty() && img.image_absent) args = {"(the image's command)"};
    if (args.empty())
        throw YamlError(c.pos, at,
                        "container '" + c.name + "' needs a 'command' (its image has no Entrypoint or Cmd)");
    if (c.hostname && c.uts == Namespace::host)
        throw YamlError(c.pos, at, "container '" + c.name + "': 'hostname' needs its own UTS namespace (uts: new)");
    // PID 1 makes a matched device's node while the container runs (mknod in its
    // mount namespace); on a /dev mounted in another user namespace such a node
    // cannot be opened (nodev), so the container would get a node it cannot use.
    if (c.policy.contains("devices") && (c.userns != Namespace::host || c.uid_mappings))
        throw YamlError(yaml_pos_of(c, at + ".devices"), at + ".devices",
                        "container '" + c.name + "': devices given by 'match' are not supported with a user namespace "
                        "(userns or uidMappings): their nodes, made while it runs, could not be opened there; list "
                        "the device by 'path' (bound from the host at launch) or drop the user namespace");

    // Environment: the YAML's env replaces the image's (as LinuxKit does); PATH
    // defaults to the usual one.
    std::vector<std::string> env;
    for (const auto& e : c.env ? *c.env : img.env) set_env(env, e);
    if (std::none_of(env.begin(), env.end(), [](const std::string& e) { return e.rfind("PATH=", 0) == 0; }))
        env.insert(env.begin(), kDefaultPath);

    // Other names need the image's files; without the image they stand for an unknown id.
    // LinuxKit: a name is first the id allocated to the container of that name.
    auto lookup = [&](const std::string& name, const std::string& db, const char* db_name) -> std::uint32_t {
        bool numeric = !name.empty() && name.find_first_not_of("0123456789") == std::string::npos;
        if (name == "root") return 0;
        if (auto it = c.container_ids.find(name); !numeric && it != c.container_ids.end()) return it->second;
        if (img.image_absent && !numeric) return 0;
        return resolve_id(name, db, db_name);
    };
    Ids ids = with_context(c.pos.str() + ": " + at + ": image User '" + img.user + "'", [&] { return image_user(img); });
    std::uint32_t uid = ids.uid, gid = ids.gid;
    // A name the image does not know is reported at its key (`uid:`, `gid:`).
    auto at_key = [&](const char* key) {
        auto it = c.key_pos.find(at + "." + key);
        return (it != c.key_pos.end() ? it->second.str() : c.pos.str()) + ": " + at + "." + key;
    };
    if (c.uid) {
        uid = with_context(at_key("uid"), [&] { return lookup(*c.uid, img.passwd, "/etc/passwd"); });
        if (!c.gid && !ids.gid_known) gid = primary_gid(uid, img.passwd).value_or(uid == 0 ? 0 : gid);
    }
    if (c.gid) gid = with_context(at_key("gid"), [&] { return lookup(*c.gid, img.group, "/etc/group"); });
    json additional = json::array();
    for (const auto& g : c.additional_gids)
        additional.push_back(with_context(c.pos.str() + ": " + at + ".additionalGids",
                                          [&] { return lookup(g, img.group, "/etc/group"); }));

    std::vector<std::string> caps = expand_capabilities(c.capabilities);
    std::vector<std::string> ambient = c.ambient ? expand_capabilities(*c.ambient)
                                                 : (uid != 0 ? caps : std::vector<std::string>{});
    json capabilities = {{"bounding", caps}, {"effective", caps}, {"inheritable", caps},
                         {"permitted", caps}, {"ambient", ambient}};

    json user = {{"uid", uid}, {"gid", gid}};
    if (!additional.empty()) user["additionalGids"] = additional;
    json process = {
        {"terminal", false},
        {"user", user},
        {"args", args},
        {"env", env},
        {"cwd", c.cwd.value_or(img.working_dir.empty() ? "/" : img.working_dir)},
        {"capabilities", capabilities},
        {"noNewPrivileges", c.no_new_privileges.value_or(true)},
    };
    if (!c.rlimits.empty()) process["rlimits"] = rlimits(c.rlimits);
    if (c.oom_score_adj) process["oomScoreAdj"] = *c.oom_score_adj;
    if (c.apparmor_profile) process["apparmorProfile"] = *c.apparmor_profile;

    // Mounts keyed by destination: later ones replace earlier ones at the same place
    // (defaults, then mounts:, tmpfs:, binds); the map's order puts parents first.
    std::map<std::string, json> mounts;
    mounts["/proc"] = mount("/proc", "proc", "proc", {"nosuid", "nodev", "noexec", "relatime"});
    mounts["/dev"] = mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"});
    mounts["/dev/pts"] = mount("/dev/pts", "devpts", "devpts",
                               {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"});
    std::vector<std::string> sys_opts = {"nosuid", "noexec", "nodev"};
    // Read-only unless the container could remount it anyway: a writable sysfs
    // without a user namespace reaches host-wide settings (/sys/kernel/mm/...).
    if (std::find(caps.begin(), caps.end(), "CAP_SYS_ADMIN") == caps.end()) sys_opts.push_back("ro");
    mounts["/sys"] = mount("/sys", "sysfs", "sysfs", sys_opts);
    mounts["/sys/fs/cgroup"] = mount("/sys/fs/cgroup", "cgroup2", "cgroup", {"ro", "nosuid", "noexec", "nodev"});
    for (const auto& m : c.mounts) {
        json o = m;
        if (!o.contains("source")) o["source"] = o["type"];
        if (std::string src = o["source"]; o["type"] == "bind" && !src.empty() && src[0] != '/') {
            auto v = c.volumes.find(src);
            if (v == c.volumes.end())
                throw YamlError(c.pos, at + ".mounts", "bind mount source '" + src + "' names no volume");
            o["source"] = v->second.path;
        }
        if (!o.contains("options")) o["options"] = json::array();
        mounts[o["destination"].get<std::string>()] = o;
    }
    for (const auto& t : c.tmpfs) {
        std::size_t colon = t.find(':');
        std::vector<std::string> opts;
        if (colon != std::string::npos)
            for (std::size_t i = colon + 1; i <= t.size();) {
                std::size_t j = t.find(',', i);
                if (j == std::string::npos) j = t.size();
                if (j > i) opts.push_back(t.substr(i, j - i));
                i = j + 1;
            }
        std::string dst = t.substr(0, colon);
        mounts[dst] = mount(dst, "tmpfs", "tmpfs", opts);
    }
    for (const auto& b : c.binds) {
        // LinuxKit: "rw,rbind,rshared" when the bind gives no options; berth's
        // strict mode makes it rprivate. Options given: recursive unless the bind
        // names `bind`, and rprivate unless it names a propagation.
        static const std::set<std::string> propagation = {"private", "rprivate", "slave", "rslave",
                                                          "shared", "rshared", "unbindable", "runbindable"};
        std::vector<std::string> opts = b.options;
        if (opts.empty()) opts = {"rw", "rbind", c.strict ? "rprivate" : "rshared"};
        if (std::none_of(opts.begin(), opts.end(), [](const std::string& o) { return o == "bind" || o == "rbind"; }))
            opts.push_back("rbind");
        if (std::none_of(opts.begin(), opts.end(), [](const std::string& o) { return propagation.count(o) > 0; }))
            opts.push_back("rprivate");
        std::string source = b.source;
        if (!b.volume.empty()) {
            check_volume_bind(c, b);
            source = c.volumes.at(b.volume).path;
        }
        mounts[b.destination] = mount(b.destination, "bind", source, opts);
    }
    json mount_list = json::array();
    for (auto& [dst, m] : mounts) mount_list.push_back(std::move(m));

    json linux = {{"namespaces", namespaces(c)}};
    linux["maskedPaths"] = c.masked_paths ? *c.masked_paths : sec.masked_paths;
    linux["readonlyPaths"] = c.readonly_paths ? *c.readonly_paths : sec.readonly_paths;
    if (c.seccomp == "default" && !sec.seccomp.is_null()) linux["seccomp"] = sec.seccomp;
    json devices = json::array(), device_rules = json::array();
    for (const auto& d : c.devices) {
        if (d.value("path", "") != "all") {
            devices.push_back(d);
            continue;
        }
        // LinuxKit's `path: all`: a whole class of devices allowed in the device cgroup.
        device_rules.push_back({{"allow", true}, {"type", d["type"]}, {"access", "rwm"}});
    }
    if (!devices.empty()) linux["devices"] = devices;
    if (c.rootfs_propagation) linux["rootfsPropagation"] = *c.rootfs_propagation;
    if (c.cgroups_path) linux["cgroupsPath"] = *c.cgroups_path;
    if (c.resources) linux["resources"] = *c.resources;
    // Devices matched while the container runs: its device cgroup must deny
    // what it was not given, or allowing them there would mean nothing.
    if (c.policy.contains("devices") && device_rules.empty() &&
        !(c.resources && c.resources->contains("devices") && !(*c.resources)["devices"].empty()))
        device_rules.push_back({{"allow", false}, {"access", "rwm"}});
    if (!device_rules.empty()) {
        json& r = linux["resources"];
        if (!r.is_object()) r = json::object();
        for (const auto& rule : device_rules) r["devices"].push_back(rule);
    }
    if (!c.sysctl.empty()) linux["sysctl"] = c.sysctl;
    if (c.uid_mappings) linux["uidMappings"] = *c.uid_mappings;
    if (c.gid_mappings) linux["gidMappings"] = *c.gid_mappings;

    json annotations = {{"org.berth.name", c.name}, {"org.berth.stage", stage_name(c.stage)}};
    for (const auto& [k, v] : c.annotations) annotations[k] = v;
    json spec = {
        {"ociVersion", "1.0.2"},
        {"process", process},
        {"root", {{"path", "rootfs"}, {"readonly", c.readonly}}},
        {"mounts", mount_list},
        {"linux", linux},
        {"annotations", annotations},
    };
    if (c.uts == Namespace::fresh) spec["hostname"] = c.hostname.value_or(c.name);
    return spec;
}

std::string oci_config_text(const ContainerSpec& c, const ImageDefaults& img, const SecurityDefaults& sec) {
    return generate_oci_config(c, img, sec).dump(2) + "\n";  // nlohmann::json objects are key-sorted
}

namespace {

json runtime_document(const ContainerSpec& c) {
    json rt = c.runtime;
    if (!c.readonly) {
        // LinuxKit's writable container: the image is lower/, an overlay with its
        // upper and work directories on a tmpfs at tmp/ becomes rootfs/. Paths are
        // absolute: runtime.json's relative paths mean "under rootfs/". The tmpfs is
        // made private (nothing else should see the layers), then the overlay.
        std::string dir = "/" + container_dir(c);
        json mounts = json::array();
        mounts.push_back({{"destination", dir + "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                          {"options", {"nodev", "nosuid", "noexec"}}});
        mounts.push_back({{"destination", dir + "/tmp"}, {"options", {"remount", "private"}}});
        mounts.push_back({{"destination", dir + "/rootfs"}, {"type", "overlay"}, {"source", "overlay"},
                          {"options", {"lowerdir=" + dir + "/lower", "upperdir=" + dir + "/tmp/upper",
                                       "workdir=" + dir + "/tmp/work"}}});
        // The overlay's upperdir and workdir are created by whoever mounts it (as
        // LinuxKit's service prepare step does): they live on the fresh tmpfs.
        for (const auto& m : rt.value("mounts", json::array())) mounts.push_back(m);
        rt["mounts"] = mounts;
    }
    if (!c.policy.empty()) rt["berth"] = c.policy;
    return rt;
}

// "cgroups[0]: ..." is the entry's runtime.cgroups[0]; "berth.restart: ..." its restart.
// A problem of runtime.json's model ("berth.restart: why", "interfaces[0].name:
// why") at the YAML key it came from: the policy's keys are the entry's own
// (`restart:`), the rest sit under `runtime:`.
YamlError runtime_problem(const ContainerSpec& c, const std::string& problem) {
    std::size_t colon = problem.find(": ");
    std::string where = problem.substr(0, colon);
    std::string why = colon == std::string::npos ? problem : problem.substr(colon + 2);
    const bool policy = where.rfind("berth", 0) == 0;
    std::string path = policy ? entry_path(c) + where.substr(5) : entry_path(c) + ".runtime." + where;
    if (policy) {
        std::replace(why.begin(), why.end(), '"', '\'');  // the YAML messages' quotes
        // An unknown key is reported at the key itself, not at its parent.
        if (why.rfind("unknown key", 0) == 0) {
            std::string key = path.substr(path.rfind('.') + 1);
            auto it = c.key_pos.find(path + "#key");
            return YamlError(it != c.key_pos.end() ? it->second : yaml_pos_of(c, path), key_error_path(path + "#key"),
                             "unknown key '" + key + "'" + why.substr(std::string("unknown key").size()));
        }
    }
    return YamlError(yaml_pos_of(c, path), path, why);
}

}  // namespace

config::RuntimeConfig runtime_config(const ContainerSpec& c) {
    // The model PID 1 reads runtime.json with checks what it is written from.
    try {
        return config::parse_runtime_config(runtime_document(c), c.pos.str() + ": " + entry_path(c));
    } catch (const oci::ConfigError& e) {
        throw runtime_problem(c, e.problems().front());
    }
}

std::vector<YamlError> runtime_config_errors(const ContainerSpec& c) {
    try {
        config::parse_runtime_config(runtime_document(c), c.pos.str() + ": " + entry_path(c));
        return {};
    } catch (const oci::ConfigError& e) {
        std::vector<YamlError> out;
        for (const auto& p : e.problems()) out.push_back(runtime_problem(c, p));
        return out;
    }
}

json generate_runtime_json(const ContainerSpec& c) { return config::to_json(runtime_config(c)); }

}  // namespace berth::builder
