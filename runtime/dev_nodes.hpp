// linux.devices: the device nodes the spec asks for in the container's /dev.
// (The cgroup allow list, linux.resources.devices, is device_filter.hpp.)
#pragma once
#include <string>
#include <vector>

#include "config/oci_spec.hpp"

namespace berth::runtime {

// Before pivot_root, after the mounts and the default /dev set. Each path is
// resolved inside rootfs and must stay below its /dev. Nodes are made with
// mknod, then given fileMode, uid and gid; with bind_from_host (a user
// namespace, where mknod of a device is not allowed) the host's node of the
// same path is bound instead, as runc and crun do, and must match.
void create_device_nodes(const std::string& rootfs, const std::vector<oci::Device>& devices, bool bind_from_host);

// True when linux.devices lists /dev/<name>: the default set then skips it.
bool device_listed(const std::vector<oci::Device>& devices, const std::string& name);

}  // namespace berth::runtime
