// Parser and validator for config.json. Each parse() overload reads one spec
// object, records problems through the Reader and keeps going, so the user sees
// every mistake of a file at once.
#include "config/oci_spec.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include <fmt/format.h>

#include "common/fs.hpp"
#include "config/json_reader.hpp"
#include "config/oci_names.hpp"

namespace berth::oci {

using detail::field;
using detail::json;
using detail::member_path;
using detail::Reader;

namespace {

// One line, so that a line-oriented console log keeps every problem with its
// context; problems() gives them one by one.
std::string join_problems(const std::string& source, const std::vector<std::string>& problems) {
    std::string msg;
    for (const auto& p : problems) {
        if (!msg.empty()) msg += "; ";
        msg += source + ": " + p;
    }
    return msg;
}

bool is_absolute(const std::string& p) { return !p.empty() && p[0] == '/'; }

void check_absolute(Reader& r, const std::string& path, const std::string& value) {
    if (!is_absolute(value)) r.problem(path, fmt::format("must be an absolute path, got \"{}\"", value));
}

constexpr std::string_view kNamespaceNames[] = {"pid", "network", "mount", "ipc",
                                                "uts", "user",    "cgroup", "time"};

constexpr std::string_view kPropagations[] = {"shared",  "slave",  "private",  "unbindable",
                                              "rshared", "rslave", "rprivate", "runbindable"};

}  // namespace

ConfigError::ConfigError(std::string source, std::vector<std::string> problems)
    : Error(join_problems(source, problems), EINVAL),
      source_(std::move(source)),
      problems_(std::move(problems)) {}

std::string_view namespace_name(NamespaceType t) { return kNamespaceNames[size_t(t)]; }

std::optional<NamespaceType> namespace_from_name(std::string_view name) {
    for (size_t i = 0; i < std::size(kNamespaceNames); ++i)
        if (kNamespaceNames[i] == name) return NamespaceType(i);
    return std::nullopt;
}

const Namespace* Linux::find_namespace(NamespaceType t) const {
    for (const auto& ns : namespaces)
        if (ns.type == t) return &ns;
    return nullptr;
}

bool Linux::creates_namespace(NamespaceType t) const {
    const Namespace* ns = find_namespace(t);
    return ns && ns->path.empty();
}

namespace detail {

// Defined in oci_seccomp.cpp.
bool parse(Reader& r, const json& v, const std::string& path, Seccomp& out);
// Defined in oci_sched.cpp.
bool parse(Reader& r, const json& v, const std::string& path, IoPriority& out);
bool parse(Reader& r, const json& v, const std::string& path, Scheduler& out);
bool parse(Reader& r, const json& v, const std::string& path, Personality& out);
// Defined in oci_devices.cpp.
bool parse(Reader& r, const json& v, const std::string& path, Device& out);
// Defined in oci_idsets.cpp.
bool parse(Reader& r, const json& v, const std::string& path, ExecCpuAffinity& out);
bool parse(Reader& r, const json& v, const std::string& path, MemoryPolicy& out);
// Defined in oci_idmap.cpp: after the whole spec is read (a bare "idmap"
// takes linux.uidMappings).
void resolve_mount_idmaps(Reader& r, Spec& spec);
// Below.
bool parse(Reader& r, const json& v, const std::string& path, IdMapping& out);

bool parse(Reader& r, const json& v, const std::string& path, Root& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    if (field(r, v, path, "path", out.path, true) && out.path.empty())
        r.problem(member_path(path, "path"), "must not be empty");
    field(r, v, path, "readonly", out.readonly);
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, Mount& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    if (field(r, v, path, "destination", out.destination, true))
        check_absolute(r, member_path(path, "destination"), out.destination);
    field(r, v, path, "type", out.type);
    field(r, v, path, "source", out.source);
    field(r, v, path, "options", out.options);
    field(r, v, path, "uidMappings", out.uid_mappings);
    field(r, v, path, "gidMappings", out.gid_mappings);
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, User& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    field(r, v, path, "username", out.username);
    // With a username the ids come from the container's /etc/passwd.
    bool need_ids = out.username.empty();
    field(r, v, path, "uid", out.uid, need_ids);
    field(r, v, path, "gid", out.gid, need_ids);
    field(r, v, path, "umask", out.umask);
    field(r, v, path, "additionalGids", out.additional_gids);
    return true;
}

// A capability list: names in the file, numbers in the model.
bool parse_caps(Reader& r, const json& obj, const std::string& parent, const char* key,
                std::vector<int>& out) {
    std::vector<std::string> names;
    if (!field(r, obj, parent, key, names)) return false;
    std::string path = member_path(parent, key);
    for (size_t i = 0; i < names.size(); ++i) {
        auto cap = capability_from_name(names[i]);
        if (!cap)
            r.problem(index_path(path, i), fmt::format("unknown capability \"{}\"", names[i]));
        else if (std::find(out.begin(), out.end(), *cap) == out.end())
            out.push_back(*cap);
    }
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, Capabilities& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    parse_caps(r, v, path, "bounding", out.bounding);
    parse_caps(r, v, path, "effective", out.effective);
    parse_caps(r, v, path, "inheritable", out.inheritable);
    parse_caps(r, v, path, "permitted", out.permitted);
    parse_caps(r, v, path, "ambient", out.ambient);
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, Rlimit& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    if (field(r, v, path, "type", out.type, true)) {
        auto res = rlimit_from_name(out.type);
        if (!res)
            r.problem(member_path(path, "type"), fmt::format("unknown rlimit \"{}\"", out.type));
        else
            out.resource = *res;
    }
    bool hard = field(r, v, path, "hard", out.hard, true);
    bool soft = field(r, v, path, "soft", out.soft, true);
    if (hard && soft && out.soft > out.hard)
        r.problem(path, fmt::format("soft limit {} is above hard limit {}", out.soft, out.hard));
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, ConsoleSize& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    field(r, v, path, "height", out.height, true);
    field(r, v, path, "width", out.width, true);
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, Process& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    field(r, v, path, "terminal", out.terminal);
    if (field(r, v, path, "consoleSize", out.console_size) && !out.terminal)
        r.problem(member_path(path, "consoleSize"), "only meaningful with \"terminal\": true");
    field(r, v, path, "user", out.user);
    if (field(r, v, path, "args", out.args, true) && out.args.empty())
        r.problem(member_path(path, "args"), "must not be empty");
    if (field(r, v, path, "env", out.env)) {
        for (size_t i = 0; i < out.env.size(); ++i)
            if (out.env[i].find('=') == std::string::npos)
                r.problem(index_path(member_path(path, "env"), i),
                          fmt::format("expected NAME=value, got \"{}\"", out.env[i]));
    }
    if (field(r, v, path, "cwd", out.cwd, true)) check_absolute(r, member_path(path, "cwd"), out.cwd);
    field(r, v, path, "capabilities", out.capabilities);
    if (field(r, v, path, "rlimits", out.rlimits)) {
        std::set<std::string> seen;
        for (size_t i = 0; i < out.rlimits.size(); ++i)
            if (!out.rlimits[i].type.empty() && !seen.insert(out.rlimits[i].type).second)
                r.problem(index_path(member_path(path, "rlimits"), i),
                          fmt::format("duplicate rlimit \"{}\"", out.rlimits[i].type));
    }
    field(r, v, path, "noNewPrivileges", out.no_new_privileges);
    if (field(r, v, path, "oomScoreAdj", out.oom_score_adj) &&
        (*out.oom_score_adj < -1000 || *out.oom_score_adj > 1000))
        r.problem(member_path(path, "oomScoreAdj"),
                  fmt::format("must be between -1000 and 1000, got {}", *out.oom_score_adj));
    field(r, v, path, "ioPriority", out.io_priority);
    field(r, v, path, "scheduler", out.scheduler);
    field(r, v, path, "execCPUAffinity", out.exec_cpu_affinity);
    field(r, v, path, "apparmorProfile", out.apparmor_profile);
    field(r, v, path, "selinuxLabel", out.selinux_label);
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, Namespace& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    std::string type;
    if (field(r, v, path, "type", type, true)) {
        auto t = namespace_from_name(type);
        if (!t) {
            r.problem(member_path(path, "type"), fmt::format("unknown namespace \"{}\"", type));
            return false;
        }
        out.type = *t;
    } else {
        return false;
    }
    if (field(r, v, path, "path", out.path)) check_absolute(r, member_path(path, "path"), out.path);
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, IdMapping& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    field(r, v, path, "containerID", out.container_id, true);
    field(r, v, path, "hostID", out.host_id, true);
    field(r, v, path, "size", out.size, true);
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, MemoryResources& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    field(r, v, path, "limit", out.limit);
    field(r, v, path, "reservation", out.reservation);
    field(r, v, path, "swap", out.swap);
    // cgroup v1 knobs: the cgroup back-end refuses them on a v2 host.
    // kernel and kernelTCP are deprecated by the spec and ignored, as runc and crun do.
    if (field(r, v, path, "swappiness", out.swappiness) && *out.swappiness > 100)
        r.problem(member_path(path, "swappiness"), fmt::format("must be between 0 and 100, got {}", *out.swappiness));
    field(r, v, path, "disableOOMKiller", out.disable_oom_killer);
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, CpuResources& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    field(r, v, path, "shares", out.shares);
    field(r, v, path, "quota", out.quota);
    field(r, v, path, "period", out.period);
    field(r, v, path, "cpus", out.cpus);
    field(r, v, path, "mems", out.mems);
    field(r, v, path, "burst", out.burst);
    if (field(r, v, path, "idle", out.idle) && *out.idle != 0 && *out.idle != 1)
        r.problem(member_path(path, "idle"), fmt::format("must be 0 or 1, got {}", *out.idle));
    field(r, v, path, "realtimeRuntime", out.realtime_runtime);
    field(r, v, path, "realtimePeriod", out.realtime_period);
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, PidsResources& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    field(r, v, path, "limit", out.limit, true);
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, DeviceRule& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    field(r, v, path, "allow", out.allow, true);
    std::string type = "a";
    if (field(r, v, path, "type", type)) {
        if (type != "a" && type != "b" && type != "c")
            r.problem(member_path(path, "type"), fmt::format("expected \"a\", \"b\" or \"c\", got \"{}\"", type));
        else
            out.type = type[0];
    }
    field(r, v, path, "major", out.major);
    field(r, v, path, "minor", out.minor);
    if (field(r, v, path, "access", out.access) &&
        (out.access.empty() || out.access.find_first_not_of("rwm") != std::string::npos))
        r.problem(member_path(path, "access"), fmt::format("expected letters of \"rwm\", got \"{}\"", out.access));
    return true;
}

bool parse_block_device(Reader& r, const json& v, const std::string& path, BlockIODevice& out, bool throttle) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    field(r, v, path, "major", out.major, true);
    field(r, v, path, "minor", out.minor, true);
    if (throttle) {
        field(r, v, path, "rate", out.rate, true);
    } else {
        field(r, v, path, "weight", out.weight);
        field(r, v, path, "leafWeight", out.leaf_weight);
    }
    return true;
}

void block_devices(Reader& r, const json& v, const std::string& path, const char* key,
                   std::vector<BlockIODevice>& out, bool throttle) {
    const json* m = r.member(v, path, key, false);
    if (!m || !r.expect(*m, member_path(path, key), json::value_t::array)) return;
    for (size_t i = 0; i < m->size(); ++i) {
        BlockIODevice d;
        if (parse_block_device(r, (*m)[i], index_path(member_path(path, key), i), d, throttle)) out.push_back(d);
    }
}

void check_blkio_weight(Reader& r, const std::string& path, const std::optional<std::uint32_t>& w) {
    if (w && (*w < 10 || *w > 1000)) r.problem(path, fmt::format("must be between 10 and 1000, got {}", *w));
}

bool parse(Reader& r, const json& v, const std::string& path, BlockIO& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    if (field(r, v, path, "weight", out.weight)) check_blkio_weight(r, member_path(path, "weight"), out.weight);
    field(r, v, path, "leafWeight", out.leaf_weight);
    block_devices(r, v, path, "weightDevice", out.weight_device, false);
    for (size_t i = 0; i < out.weight_device.size(); ++i)
        check_blkio_weight(r, member_path(index_path(member_path(path, "weightDevice"), i), "weight"),
                           out.weight_device[i].weight);
    block_devices(r, v, path, "throttleReadBpsDevice", out.throttle_read_bps, true);
    block_devices(r, v, path, "throttleWriteBpsDevice", out.throttle_write_bps, true);
    block_devices(r, v, path, "throttleReadIOPSDevice", out.throttle_read_iops, true);
    block_devices(r, v, path, "throttleWriteIOPSDevice", out.throttle_write_iops, true);
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, HugepageLimit& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    if (field(r, v, path, "pageSize", out.page_size, true)) {
        size_t digits = out.page_size.find_first_not_of("0123456789");
        std::string unit = digits == std::string::npos ? "" : out.page_size.substr(digits);
        if (digits == 0 || (unit != "KB" && unit != "MB" && unit != "GB"))
            r.problem(member_path(path, "pageSize"),
                      fmt::format("expected a size like \"2MB\" or \"1GB\", got \"{}\"", out.page_size));
    }
    field(r, v, path, "limit", out.limit, true);
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, NetworkResources& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    field(r, v, path, "classID", out.class_id);
    const json* p = r.member(v, path, "priorities", false);
    if (p && r.expect(*p, member_path(path, "priorities"), json::value_t::array))
        for (size_t i = 0; i < p->size(); ++i) {
            const std::string ip = index_path(member_path(path, "priorities"), i);
            if (!r.expect((*p)[i], ip, json::value_t::object)) continue;
            std::string name;
            std::uint32_t prio = 0;
            // Both read, so that each gets its own problem.
            bool has_name = field(r, (*p)[i], ip, "name", name, true);
            bool has_prio = field(r, (*p)[i], ip, "priority", prio, true);
            if (has_name && has_prio) out.priorities.emplace_back(name, prio);
        }
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, Resources& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    field(r, v, path, "memory", out.memory);
    field(r, v, path, "cpu", out.cpu);
    field(r, v, path, "pids", out.pids);
    field(r, v, path, "devices", out.devices);
    field(r, v, path, "blockIO", out.block_io);
    field(r, v, path, "hugepageLimits", out.hugepage_limits);
    if (field(r, v, path, "unified", out.unified))
        for (const auto& [file, value] : out.unified)
            if (file.empty() || file.find('/') != std::string::npos || file.find('.') == std::string::npos ||
                file[0] == '.' || file.rfind("cgroup.", 0) == 0)
                r.problem(member_path(member_path(path, "unified").c_str(), file.c_str()),
                          "expected a controller file name such as \"memory.high\"");
    // leafWeight and network are cgroup v1 knobs: the cgroup back-end refuses
    // them on a v2 host.
    field(r, v, path, "network", out.network);
    if (r.member(v, path, "rdma", false))
        r.problem(member_path(path, "rdma"), "not supported by berth");
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, Hook& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    if (field(r, v, path, "path", out.path, true)) check_absolute(r, member_path(path, "path"), out.path);
    field(r, v, path, "args", out.args);
    field(r, v, path, "env", out.env);
    if (field(r, v, path, "timeout", out.timeout) && *out.timeout <= 0)
        r.problem(member_path(path, "timeout"), fmt::format("must be a positive number of seconds, got {}", *out.timeout));
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, Hooks& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    field(r, v, path, "prestart", out.prestart);
    field(r, v, path, "createRuntime", out.create_runtime);
    field(r, v, path, "createContainer", out.create_container);
    field(r, v, path, "startContainer", out.start_container);
    field(r, v, path, "poststart", out.poststart);
    field(r, v, path, "poststop", out.poststop);
    return true;
}

void check_paths(Reader& r, const std::string& path, const std::vector<std::string>& paths) {
    for (size_t i = 0; i < paths.size(); ++i) check_absolute(r, index_path(path, i), paths[i]);
}

bool parse(Reader& r, const json& v, const std::string& path, TimeOffset& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    field(r, v, path, "secs", out.secs);
    if (field(r, v, path, "nanosecs", out.nanosecs) && out.nanosecs >= 1000000000u)
        r.problem(member_path(path, "nanosecs"), fmt::format("must be below 1000000000, got {}", out.nanosecs));
    return true;
}

// linux.timeOffsets: only the two clocks a time namespace offsets, and only
// with a time namespace of the container's own to write them into.
void parse_time_offsets(Reader& r, const json& v, const std::string& path, Linux& out) {
    const json* m = r.member(v, path, "timeOffsets", false);
    if (!m) return;
    const std::string mpath = member_path(path, "timeOffsets");
    if (!r.expect(*m, mpath, json::value_t::object)) return;
    for (const auto& [clock, value] : m->items()) {
        const std::string cpath = member_path(mpath, clock.c_str());
        if (clock != "monotonic" && clock != "boottime") {
            r.problem(cpath, fmt::format("unknown clock \"{}\" (expected monotonic or boottime)", clock));
            continue;
        }
        TimeOffset off;
        if (parse(r, value, cpath, off)) out.time_offsets[clock] = off;
    }
    if (!m->empty() && !out.creates_namespace(NamespaceType::time))
        r.problem(mpath, "requires a new time namespace (a \"time\" entry without a path in linux.namespaces)");
}

bool parse(Reader& r, const json& v, const std::string& path, Linux& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    if (field(r, v, path, "namespaces", out.namespaces)) {
        std::set<NamespaceType> seen;
        for (const auto& ns : out.namespaces)
            if (!seen.insert(ns.type).second)
                r.problem(member_path(path, "namespaces"),
                          fmt::format("namespace \"{}\" listed twice", namespace_name(ns.type)));
    }
    field(r, v, path, "uidMappings", out.uid_mappings);
    field(r, v, path, "gidMappings", out.gid_mappings);
    if (out.creates_namespace(NamespaceType::user)) {
        if (out.uid_mappings.empty())
            r.problem(member_path(path, "uidMappings"), "required with a new user namespace");
        if (out.gid_mappings.empty())
            r.problem(member_path(path, "gidMappings"), "required with a new user namespace");
    }
    field(r, v, path, "cgroupsPath", out.cgroups_path);
    field(r, v, path, "resources", out.resources);
    field(r, v, path, "sysctl", out.sysctl);
    if (field(r, v, path, "maskedPaths", out.masked_paths))
        check_paths(r, member_path(path, "maskedPaths"), out.masked_paths);
    if (field(r, v, path, "readonlyPaths", out.readonly_paths))
        check_paths(r, member_path(path, "readonlyPaths"), out.readonly_paths);
    if (field(r, v, path, "rootfsPropagation", out.rootfs_propagation) &&
        std::find(std::begin(kPropagations), std::end(kPropagations), out.rootfs_propagation) ==
            std::end(kPropagations))
        r.problem(member_path(path, "rootfsPropagation"),
                  fmt::format("unknown propagation \"{}\"", out.rootfs_propagation));
    field(r, v, path, "seccomp", out.seccomp);
    field(r, v, path, "personality", out.personality);
    parse_time_offsets(r, v, path, out);
    field(r, v, path, "memoryPolicy", out.memory_policy);
    field(r, v, path, "mountLabel", out.mount_label);
    if (field(r, v, path, "devices", out.devices)) {
        std::set<std::string> seen;
        for (size_t i = 0; i < out.devices.size(); ++i)
            if (!seen.insert(out.devices[i].path).second)
                r.problem(index_path(member_path(path, "devices"), i),
                          fmt::format("device \"{}\" listed twice", out.devices[i].path));
    }
    return true;
}

// The one known spec field berth does not apply: set (non-empty), it is an
// error, since the spec lets a runtime ignore unknown properties, not known ones.
std::string resctrl_reason() {
    std::string fs;
    try {
        fs = fs::read_file("/proc/filesystems");
    } catch (const std::exception&) {
    }
    if (fs.find("\tresctrl\n") == std::string::npos)
        return "this kernel has no resctrl file system (no Intel RDT/AMD QoS support on this hardware or kernel), "
               "and berth does not drive resctrl";
    return "berth does not drive the resctrl file system (Intel RDT) yet";
}

void refuse_unsupported_fields(Reader& r, const json& j) {
    const json* l = j.is_object() ? r.member(j, "", "linux", false) : nullptr;
    if (!l || !l->is_object()) return;
    const json* rdt = r.member(*l, "linux", "intelRdt", false);
    if (rdt && !(rdt->is_object() && rdt->empty()))
        r.problem("linux.intelRdt", fmt::format("not supported by berth: {}", resctrl_reason()));
}

}  // namespace detail

namespace {
// MAJOR.MINOR.PATCH with an optional -pre-release and +build (SemVer 2.0).
bool is_semver(const std::string& v) {
    size_t i = 0;
    for (int part = 0; part < 3; ++part) {
        size_t start = i;
        while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) ++i;
        if (i == start) return false;
        if (part < 2 && (i >= v.size() || v[i++] != '.')) return false;
    }
    if (i == v.size()) return true;
    if (v[i] != '-' && v[i] != '+') return false;
    if (i + 1 == v.size()) return false;
    for (size_t k = i + 1; k < v.size(); ++k)
        if (!std::isalnum(static_cast<unsigned char>(v[k])) && v[k] != '.' && v[k] != '-' && v[k] != '+') return false;
    return true;
}
}  // namespace

Spec parse_spec(const nlohmann::json& j, const std::string& source_name) {
    Reader r;
    Spec spec;
    if (r.expect(j, "", json::value_t::object)) {
        field(r, j, "", "ociVersion", spec.oci_version, true);
        field(r, j, "", "root", spec.root, true);
        field(r, j, "", "mounts", spec.mounts);
        field(r, j, "", "process", spec.process, true);
        field(r, j, "", "hostname", spec.hostname);
        field(r, j, "", "domainname", spec.domainname);
        field(r, j, "", "annotations", spec.annotations);
        field(r, j, "", "hooks", spec.hooks);
        field(r, j, "", "linux", spec.linux_);
        // A uts namespace of the container's own, new or joined by path (as runc).
        if (!spec.hostname.empty() && !spec.linux_.find_namespace(NamespaceType::uts))
            r.problem("hostname", "requires a uts namespace in linux.namespaces");
        if (!spec.domainname.empty() && !spec.linux_.find_namespace(NamespaceType::uts))
            r.problem("domainname", "requires a uts namespace in linux.namespaces");
        if (!spec.oci_version.empty() && !is_semver(spec.oci_version))
            r.problem("ociVersion", fmt::format("expected a version like \"1.0.2\", got \"{}\"", spec.oci_version));
        refuse_unsupported_fields(r, j);
        resolve_mount_idmaps(r, spec);
    }
    if (!r.problems().empty()) throw ConfigError(source_name, r.problems());
    spec.raw = std::make_shared<const json>(j);
    return spec;
}

Process parse_process(const nlohmann::json& j, const std::string& source_name) {
    Reader r;
    Process p;
    detail::parse(r, j, "", p);
    if (!r.problems().empty()) throw ConfigError(source_name, r.problems());
    return p;
}

Spec load_bundle(const std::string& bundle_dir, std::string* text_read) {
    const std::string file = fs::join(bundle_dir, "config.json");
    std::string text = fs::read_file(file);
    json j;
    try {
        j = json::parse(text);
    } catch (const json::parse_error& e) {
        // nlohmann reports a 1-based byte offset; turn it into line/column.
        size_t byte = e.byte == 0 ? 0 : e.byte - 1;
        size_t line = 1, col = 1;
        for (size_t i = 0; i < byte && i < text.size(); ++i) {
            if (text[i] == '\n') {
                ++line;
                col = 1;
            } else {
                ++col;
            }
        }
        std::string reason = e.what();
        if (auto p = reason.find("column "); p != std::string::npos)
            if (auto q = reason.find(": ", p); q != std::string::npos) reason = reason.substr(q + 2);
        throw ConfigError(file, {fmt::format("invalid JSON at line {}, column {} (byte {}): {}",
                                             line, col, e.byte, reason)});
    }
    Spec spec = parse_spec(j, file);
    if (text_read) *text_read = std::move(text);
    return spec;
}

std::vector<std::string> cgroup_v1_only_fields(const Resources& r) {
    std::vector<std::string> out;
    if (r.memory && r.memory->swappiness) out.push_back("memory.swappiness");
    if (r.memory && r.memory->disable_oom_killer) out.push_back("memory.disableOOMKiller");
    if (r.cpu && r.cpu->realtime_runtime) out.push_back("cpu.realtimeRuntime");
    if (r.cpu && r.cpu->realtime_period) out.push_back("cpu.realtimePeriod");
    bool leaf = r.block_io && r.block_io->leaf_weight;
    if (r.block_io)
        for (const auto& d : r.block_io->weight_device) leaf = leaf || d.leaf_weight;
    if (leaf) out.push_back("blockIO.leafWeight");
    if (r.network && r.network->class_id) out.push_back("network.classID");
    if (r.network && !r.network->priorities.empty()) out.push_back("network.priorities");
    return out;
}

}  // namespace berth::oci
