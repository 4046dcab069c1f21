// Typed model of the OCI runtime-spec config.json (Linux subset used by berth).
//
// Every struct mirrors one JSON object of the spec; field names follow the spec
// in snake_case. Adding a field later means: a member here, one `field(...)` line
// in the matching parse function in oci_spec.cpp, and a test.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/error.hpp"
#include "config/oci_seccomp.hpp"

namespace berth::oci {

// All validation problems of one config.json. what() lists every problem, each
// as "<source>: <json path>: <reason>", separated by "; " on a single line.
class ConfigError : public Error {
public:
    ConfigError(std::string source, std::vector<std::string> problems);
    const std::string& source() const noexcept { return source_; }
    // "<json path>: <reason>", without the source prefix.
    const std::vector<std::string>& problems() const noexcept { return problems_; }

private:
    std::string source_;
    std::vector<std::string> problems_;
};

struct Root {
    std::string path;  // relative paths are relative to the bundle directory
    bool readonly = false;
    bool operator==(const Root&) const = default;
};

struct IdMapping {
    std::uint32_t container_id = 0;
    std::uint32_t host_id = 0;
    std::uint32_t size = 0;
    bool operator==(const IdMapping&) const = default;
};

// How a mount is idmapped (spec 1.2: mounts[].uidMappings/gidMappings and the
// "idmap"/"ridmap" options).
enum class IdmapMode { none, single, recursive };

struct Mount {
    std::string destination;
    std::string type;
    std::string source;
    std::vector<std::string> options;
    // An idmapped bind mount: the mappings written to the user namespace the
    // mount is idmapped to ("containerID hostID size" lines, as crun writes
    // them): a file stored with id containerID shows as hostID. Filled from
    // the mount's own mappings, from crun's `idmap=uids=...;gids=...` option,
    // or from linux.uidMappings/gidMappings for a bare `idmap`.
    IdmapMode idmap = IdmapMode::none;
    std::vector<IdMapping> uid_mappings;
    std::vector<IdMapping> gid_mappings;
    bool operator==(const Mount&) const = default;
};

struct User {
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::optional<std::uint32_t> umask;
    std::vector<std::uint32_t> additional_gids;
    // Spec field for Windows; berth also accepts it on Linux and resolves it
    // from the container's own /etc/passwd (it then overrides uid and gid).
    std::string username;
    bool operator==(const User&) const = default;
};

// Capability numbers (CAP_*), validated against the names in oci_names.hpp.
struct Capabilities {
    std::vector<int> bounding;
    std::vector<int> effective;
    std::vector<int> inheritable;
    std::vector<int> permitted;
    std::vector<int> ambient;
    bool operator==(const Capabilities&) const = default;
};

struct Rlimit {
    std::string type;  // "RLIMIT_NOFILE"
    int resource = -1; // RLIMIT_NOFILE
    std::uint64_t hard = 0;
    std::uint64_t soft = 0;
    bool operator==(const Rlimit&) const = default;
};

struct ConsoleSize {
    std::uint32_t height = 0;
    std::uint32_t width = 0;
    bool operator==(const ConsoleSize&) const = default;
};

// process.ioPriority: ioprio_set(2) of the container's process.
struct IoPriority {
    std::string class_name;  // "IOPRIO_CLASS_BE"
    int io_class = 0;        // IOPRIO_CLASS_BE = 2
    int priority = 0;        // 0 (highest) .. 7
    bool operator==(const IoPriority&) const = default;
};

// process.scheduler: sched_setattr(2) of the container's process.
struct Scheduler {
    std::string policy_name;  // "SCHED_FIFO"
    int policy = 0;           // SCHED_FIFO
    int nice = 0;             // -20..19
    int priority = 0;         // 1..99 for SCHED_FIFO/SCHED_RR, else 0
    std::vector<std::string> flags;
    std::uint64_t flag_bits = 0;  // SCHED_FLAG_* of `flags`
    std::uint64_t runtime = 0, deadline = 0, period = 0;  // ns, SCHED_DEADLINE only
    bool operator==(const Scheduler&) const = default;
};

// linux.personality: personality(2) right before exec.
struct Personality {
    std::string domain;          // "LINUX" or "LINUX32"
    unsigned long persona = 0;   // PER_LINUX / PER_LINUX32
    bool operator==(const Personality&) const = default;
};

// A set of CPUs or NUMA nodes: bit n of word n / 64 is CPU (node) n.
struct IdSet {
    std::string text;                  // as written: "0-3,7"
    std::vector<std::uint64_t> words;  // empty when text is empty
    bool empty() const { return words.empty(); }
    bool operator==(const IdSet&) const = default;
};

// process.execCPUAffinity: for processes added by exec (the spec does not
// apply it to the container's init process).
struct ExecCpuAffinity {
    IdSet initial;  // before the process joins the container's cgroup
    IdSet final;    // right before execve; empty: every CPU the cgroup allows
    bool operator==(const ExecCpuAffinity&) const = default;
};

struct Process {
    bool terminal = false;
    std::optional<ConsoleSize> console_size;
    User user;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string cwd;
    std::optional<Capabilities> capabilities;
    std::vector<Rlimit> rlimits;
    bool no_new_privileges = false;
    std::optional<int> oom_score_adj;
    std::optional<IoPriority> io_priority;
    std::optional<Scheduler> scheduler;
    std::optional<ExecCpuAffinity> exec_cpu_affinity;
    std::string apparmor_profile;  // written as "exec PROFILE" before execve
    std::string selinux_label;     // written to attr/exec before execve
    bool operator==(const Process&) const = default;
};

enum class NamespaceType { pid, network, mount, ipc, uts, user, cgroup, time };

struct Namespace {
    NamespaceType type = NamespaceType::mount;
    std::string path;  // empty: create a new one; otherwise join this one
    bool operator==(const Namespace&) const = default;
};

struct MemoryResources {
    std::optional<std::int64_t> limit;        // bytes, -1 = unlimited
    std::optional<std::int64_t> reservation;  // bytes
    std::optional<std::int64_t> swap;         // memory+swap bytes, -1 = unlimited
    // cgroup v1 only (the cgroup back-end refuses them on v2).
    std::optional<std::uint64_t> swappiness;  // 0..100
    bool disable_oom_killer = false;
    bool operator==(const MemoryResources&) const = default;
};

struct CpuResources {
    std::optional<std::uint64_t> shares;
    std::optional<std::int64_t> quota;   // microseconds per period, -1 = unlimited
    std::optional<std::uint64_t> period; // microseconds
    std::string cpus;
    std::string mems;
    std::optional<std::uint64_t> burst;  // microseconds, cpu.max.burst
    std::optional<std::int64_t> idle;    // 0 or 1, cpu.idle
    // cgroup v1 only: cpu.rt_runtime_us / cpu.rt_period_us.
    std::optional<std::int64_t> realtime_runtime;
    std::optional<std::uint64_t> realtime_period;
    bool operator==(const CpuResources&) const = default;
};

struct PidsResources {
    std::int64_t limit = 0;  // <= 0 = unlimited
    bool operator==(const PidsResources&) const = default;
};

// linux.resources.devices[]: an allow/deny rule; later rules win.
struct DeviceRule {
    bool allow = false;
    char type = 'a';                    // 'a' (all), 'c' or 'b'
    std::optional<std::int64_t> major;  // absent or -1 = any
    std::optional<std::int64_t> minor;
    std::string access = "rwm";         // subset of "rwm"
    bool operator==(const DeviceRule&) const = default;
};

struct BlockIODevice {
    std::int64_t major = 0, minor = 0;
    std::optional<std::uint32_t> weight;       // weightDevice: 10..1000
    std::optional<std::uint32_t> leaf_weight;  // no cgroup v2 equivalent
    std::uint64_t rate = 0;                    // throttle*Device
    bool operator==(const BlockIODevice&) const = default;
};

struct BlockIO {
    std::optional<std::uint32_t> weight;       // 10..1000
    std::optional<std::uint32_t> leaf_weight;  // no cgroup v2 equivalent
    std::vector<BlockIODevice> weight_device;
    std::vector<BlockIODevice> throttle_read_bps, throttle_write_bps, throttle_read_iops, throttle_write_iops;
    bool operator==(const BlockIO&) const = default;
};

struct HugepageLimit {
    std::string page_size;  // "2MB", "1GB", "64KB"
    std::uint64_t limit = 0;
    bool operator==(const HugepageLimit&) const = default;
};

// linux.resources.network: cgroup v1 net_cls and net_prio.
struct NetworkResources {
    std::optional<std::uint32_t> class_id;
    std::vector<std::pair<std::string, std::uint32_t>> priorities;  // interface, priority
    bool operator==(const NetworkResources&) const = default;
};


struct Resources {
    std::optional<MemoryResources> memory;
    std::optional<CpuResources> cpu;
    std::optional<PidsResources> pids;
    std::vector<DeviceRule> devices;
    std::optional<BlockIO> block_io;
    std::vector<HugepageLimit> hugepage_limits;
    std::map<std::string, std::string> unified;  // cgroup v2 file -> value
    std::optional<NetworkResources> network;
    bool operator==(const Resources&) const = default;
};

// The cgroup v1 knobs of `r` ("memory.swappiness", ...), which a cgroup v2
// host has no file for: refused there, never dropped. PID 1 (v2 only) refuses
// them at boot and the builder at build time, through this one list.
std::vector<std::string> cgroup_v1_only_fields(const Resources& r);

// linux.devices[]: a node created in the container's /dev (not the cgroup
// allow list, which is linux.resources.devices).
struct Device {
    char type = 0;  // 'c', 'b', 'u' (unbuffered character) or 'p' (FIFO)
    std::string path;  // below /dev
    std::int64_t major = 0, minor = 0;  // ignored for 'p'
    std::optional<std::uint32_t> file_mode;  // permission bits; default 0666
    std::optional<std::uint32_t> uid, gid;   // default 0
    bool operator==(const Device&) const = default;
};

// linux.timeOffsets values: written to the new time namespace's
// timens_offsets before any process is in it.
struct TimeOffset {
    std::int64_t secs = 0;
    std::uint32_t nanosecs = 0;  // < 1e9
    bool operator==(const TimeOffset&) const = default;
};

// linux.memoryPolicy: set_mempolicy(2) of the container's process.
struct MemoryPolicy {
    std::string mode_name;  // "MPOL_BIND"
    int mode = 0;           // MPOL_BIND | the MPOL_F_* flags
    IdSet nodes;
    std::vector<std::string> flags;
    bool operator==(const MemoryPolicy&) const = default;
};

struct Linux {
    std::vector<Namespace> namespaces;
    std::vector<IdMapping> uid_mappings;
    std::vector<IdMapping> gid_mappings;
    std::string cgroups_path;
    std::optional<Resources> resources;
    std::map<std::string, std::string> sysctl;
    std::vector<std::string> masked_paths;
    std::vector<std::string> readonly_paths;
    std::string rootfs_propagation;  // "" = rprivate
    std::optional<Seccomp> seccomp;
    std::optional<Personality> personality;
    std::vector<Device> devices;
    std::map<std::string, TimeOffset> time_offsets;  // "monotonic", "boottime"
    std::optional<MemoryPolicy> memory_policy;
    std::string mount_label;  // SELinux context="..." of tmpfs, devpts, mqueue mounts

    const Namespace* find_namespace(NamespaceType t) const;
    // True when the namespace is listed without a path (a new one is created).
    bool creates_namespace(NamespaceType t) const;
    bool operator==(const Linux&) const = default;
};

struct Hook {
    std::string path;  // absolute, resolved in the runtime's mount namespace
    std::vector<std::string> args;  // args[0] is argv[0]; empty: just the path
    std::vector<std::string> env;
    std::optional<int> timeout;  // seconds, > 0
    bool operator==(const Hook&) const = default;
};

struct Hooks {
    std::vector<Hook> prestart;  // deprecated by the spec, run with createRuntime
    std::vector<Hook> create_runtime;
    std::vector<Hook> create_container;
    std::vector<Hook> start_container;
    std::vector<Hook> poststart;
    std::vector<Hook> poststop;
    bool operator==(const Hooks&) const = default;
};

struct Spec {
    std::string oci_version;
    Root root;
    std::vector<Mount> mounts;
    Process process;
    std::string hostname;
    std::string domainname;
    std::map<std::string, std::string> annotations;
    Hooks hooks;
    Linux linux_;  // "linux" can be a predefined macro in GNU mode
    std::shared_ptr<const nlohmann::json> raw;  // the whole document, for fields not modelled yet
    // Every modelled field; `raw` (the document it was read from) is not compared.
    bool operator==(const Spec& o) const;
};

// Parses and validates; throws ConfigError listing every problem found.
// source_name prefixes each problem (normally the config.json path).
Spec parse_spec(const nlohmann::json& j, const std::string& source_name);

// A standalone `process` object (runc exec --process FILE), validated alike.
Process parse_process(const nlohmann::json& j, const std::string& source_name);

// The config.json document of a spec (config/oci_serialise.cpp): every modelled
// field, in the spec's names, such that parse_spec(spec_to_json(s)) == s. The
// builder writes every bundle's config.json through it.
nlohmann::json spec_to_json(const Spec& spec);

// Reads <bundle_dir>/config.json. A syntax error throws ConfigError naming the
// file, the line, column and byte offset, and the reason. With `text_read`, the
// file's bytes as read go there (for a caller that keeps a copy: no second read).
Spec load_bundle(const std::string& bundle_dir, std::string* text_read = nullptr);

// Parses a CPU or node list such as "0-3,7" (no spaces; ids below `limit`).
// Throws std::invalid_argument with the reason.
IdSet parse_id_set(const std::string& text, unsigned limit);

std::string_view namespace_name(NamespaceType t);  // "pid", "network", ...
std::optional<NamespaceType> namespace_from_name(std::string_view name);

}  // namespace berth::oci
