// A container's cgroup: one interface, two back-ends. cgroup_v2.cpp serves a
// pure cgroup v2 host (and berth's own PID 1, which owns its machine and is
// v2-only); cgroup_v1.cpp serves v1 and hybrid hosts (v1 controllers, maybe a
// `unified` cgroup2 mount for the rest). The host's layout is read from
// /proc/self/mountinfo; the container has the same path in every hierarchy.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/fs.hpp"
#include "config/oci_spec.hpp"

namespace berth::runtime {

// --- the host -----------------------------------------------------------------

struct CgroupV1Hierarchy {
    std::string mount_point;               // /sys/fs/cgroup/memory
    std::vector<std::string> controllers;  // {"memory"}, {"cpu", "cpuacct"}, {"name=systemd"}
    bool has(const std::string& controller) const;
};

struct CgroupHost {
    std::string unified;                 // a cgroup2 mount point, "" when none
    std::vector<CgroupV1Hierarchy> v1;   // empty on a pure v2 host
    bool pure_v2() const { return v1.empty() && !unified.empty(); }
    bool any() const { return !v1.empty() || !unified.empty(); }
    const CgroupV1Hierarchy* v1_for(const std::string& controller) const;
};

// The cgroup mounts listed in a mountinfo text (the first mount of each
// hierarchy; a cgroup2 mount at /sys/fs/cgroup wins over one elsewhere).
CgroupHost parse_cgroup_mounts(const std::string& mountinfo);
// The path in a /proc/<pid>/cgroup text ("id:controllers:path" lines) of the
// hierarchy whose controllers field is `controllers` ("" for cgroup2,
// "cpu,cpuacct", "name=systemd"); nullopt when no line has it.
std::optional<std::string> cgroup_path_in(std::string_view proc_cgroup, std::string_view controllers);
// This process's view, read once.
const CgroupHost& cgroup_host();

// --- the container's path -------------------------------------------------------

// linux.cgroupsPath to the path below each hierarchy's root: absolute paths as
// they are, relative ones below /berth, an empty one /berth/<id>. The systemd
// form `slice:prefix:name` becomes the path systemd would use
// (`a-b.slice:libpod:ID` → /a.slice/a-b.slice/libpod-ID.scope), created as
// plain cgroupfs directories.
std::string resolve_cgroups_path(const std::string& cgroups_path, const std::string& id);

// --- the interface ----------------------------------------------------------------

// Usage figures of a container's cgroup, as `runc events` reports them;
// absent when this host has no controller (or file) for them.
struct CgroupStats {
    std::optional<std::uint64_t> cpu_total_ns, cpu_user_ns, cpu_kernel_ns;
    std::vector<std::uint64_t> cpu_percpu_ns;  // v1 cpuacct only
    std::optional<std::uint64_t> memory_usage, memory_limit, memory_max_usage, memory_failcnt;
    std::map<std::string, std::uint64_t> memory_raw;  // memory.stat
    std::optional<std::uint64_t> pids_current, pids_limit;  // no limit: UINT64_MAX, as runc
};

// A cgroup file holding one number, or "max" (UINT64_MAX); nullopt when it is
// missing or holds something else.
std::optional<std::uint64_t> read_cgroup_number(const std::string& path);
// "key value" lines (cpu.stat, memory.stat) as a map; non-numbers skipped.
std::map<std::string, std::uint64_t> read_cgroup_keyed(const std::string& path);

class ContainerCgroup {
public:
    virtual ~ContainerCgroup() = default;
    // Creates the directories and applies `resources` (null: none). A limit
    // whose controller this host lacks is an error; no limit on a missing
    // controller is fine. Returns the container's cgroup2 directory (an fd to
    // clone the process straight into, see clone_process) when that is the
    // only hierarchy it must join, else an empty Fd.
    virtual fs::Fd prepare(const oci::Linux& l, const oci::Resources* resources) const = 0;
    // Moves pid into the container's cgroup in every hierarchy; `cloned_in`:
    // it was born in the directory prepare() returned, nothing left to move.
    virtual void attach(pid_t pid, bool cloned_in) const = 0;
    // prepare + attach, for a process that already exists.
    void enter(const oci::Linux& l, const oci::Resources* resources, pid_t pid) const {
        prepare(l, resources);
        attach(pid, false);
    }
    // Pids in the container's cgroup (empty when it is gone).
    virtual std::vector<pid_t> pids() const = 0;
    // Freezes or thaws every process of the container (v1: the freezer
    // hierarchy; v2: cgroup.freeze), waiting (bounded) until it is done.
    virtual void set_frozen(bool frozen) const = 0;
    virtual bool frozen() const = 0;
    // CPU, memory and pids figures (runc events --stats).
    virtual CgroupStats stats() const = 0;
    // Removes the directories (retried while exiting tasks keep them busy).
    virtual void remove(int timeout_ms = 1000) const = 0;
};

// The back-end for this host and the resolved path ("/berth/id"); null when
// the host has no cgroup hierarchy at all.
std::unique_ptr<ContainerCgroup> container_cgroup(const CgroupHost& host, const std::string& path);

// --- cgroup v2 (cgroup_v2.cpp) ------------------------------------------------------

std::unique_ptr<ContainerCgroup> cgroup_v2(const std::string& dir);

// (file, value) pairs to write for the resources, e.g. {"memory.max", "67108864"}.
std::vector<std::pair<std::string, std::string>> cgroup_resource_files(const oci::Resources& r);

// blockIO weight (10..1000) to io.weight (1..10000), crun's formula.
std::uint64_t blkio_to_io_weight(std::uint64_t weight);

// cpu.shares (2..262144) to cpu.weight (1..10000), crun's formula.
std::uint64_t shares_to_weight(std::uint64_t shares);

// cgroup v2 only (berth's PID 1): mkdir -p path; write the resources; attach
// the device filter. Returns the directory, opened for CLONE_INTO_CGROUP;
// *created says whether this call made it (a fresh cgroup, never killed).
fs::Fd prepare_cgroup(const std::string& path, const oci::Linux& l, bool* created = nullptr);
// Moves an existing process into `path` (its cgroup.procs), for a process not
// born there (CLONE_INTO_CGROUP refused by an old kernel, or execCPUAffinity).
void move_into_cgroup(const std::string& path, pid_t pid);

// Where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup, or on a hybrid
// host /sys/fs/cgroup/unified; "" when there is none.
std::string cgroup2_root();

// Pids listed in <dir>/cgroup.procs (empty when the cgroup is gone).
std::vector<pid_t> cgroup_pids(const std::string& dir);

// rmdir, retried for up to `timeout_ms` while the kernel still counts exiting
// tasks (EBUSY). A missing directory is success.
void remove_cgroup(const std::string& dir, int timeout_ms = 1000);

// --- cgroup v1 (cgroup_v1.cpp) --------------------------------------------------------

std::unique_ptr<ContainerCgroup> cgroup_v1(const CgroupHost& host, const std::string& path);

// (controller, file, value) writes for the resources on cgroup v1, in order.
struct V1Write {
    std::string controller, file, value;
};
std::vector<V1Write> cgroup_v1_writes(const oci::Resources& r, const std::vector<oci::Device>& nodes);

// The spec's `cgroup` mount on a host whose /sys/fs/cgroup is not cgroup2:
// a tmpfs at `target` with one directory per hierarchy, as runc makes it.
// In a new cgroup namespace each hierarchy is mounted (the namespace root is
// the container's cgroup); otherwise the container's own directory is bound.
// Runs in the container's mount namespace before pivot_root.
void mount_cgroup_v1_tree(const std::string& target, unsigned long flags, bool own_cgroup_ns);

}  // namespace berth::runtime
