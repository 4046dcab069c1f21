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

// cpu.shares (2..262144) to cpu.weight (1..10000), crun's formula.
std::uint64_t shares_to_weight(std::uint64_t shares);

// mkdir -p path; write resources whose file exists; write pid to cgroup.procs.
void join_cgroup(const std::string& path, const oci::Linux& l, pid_t pid);

}  // namespace berth::runtime
