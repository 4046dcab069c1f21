// cgroup v2: the parent creates the container's cgroup, applies the spec's
// resources and moves the child in before the child may continue.
#pragma once
#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "config/oci_spec.hpp"

namespace berth::runtime {

// (file, value) pairs to write for the resources, e.g. {"memory.max", "67108864"}.
std::vector<std::pair<std::string, std::string>> cgroup_resource_files(const oci::Resources& r);

// blockIO weight (10..1000) to io.weight (1..10000), crun's formula.
std::uint64_t blkio_to_io_weight(std::uint64_t weight);

// cpu.shares (2..262144) to cpu.weight (1..10000), crun's formula.
std::uint64_t shares_to_weight(std::uint64_t shares);

// mkdir -p path; write resources whose file exists; write pid to cgroup.procs.
void join_cgroup(const std::string& path, const oci::Linux& l, pid_t pid);

// Where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup, or on a hybrid
// host /sys/fs/cgroup/unified; "" when there is none (v1 only is unsupported).
std::string cgroup2_root();

// The container's cgroup directory for a spec's cgroupsPath: absolute paths
// are taken below the v2 root, relative ones below <root>/berth, an empty one
// is <root>/berth/<id>. "" when there is no v2 hierarchy.
std::string container_cgroup_dir(const std::string& cgroups_path, const std::string& id);

// Pids listed in <dir>/cgroup.procs (empty when the cgroup is gone).
std::vector<pid_t> cgroup_pids(const std::string& dir);

// rmdir, retried for up to `timeout_ms` while the kernel still counts exiting
// tasks (EBUSY). A missing directory is success.
void remove_cgroup(const std::string& dir, int timeout_ms = 1000);

}  // namespace berth::runtime
