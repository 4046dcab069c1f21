// The spec's "mounts", performed in order on the host side of the rootfs
// (before pivot_root), plus helpers shared with rootfs.cpp.
#pragma once
#include <string>
#include <vector>

#include "config/oci_spec.hpp"

namespace berth::runtime {

class IdmappedTrees;

struct MountContext {
    std::string rootfs;      // absolute host path of the bound rootfs
    std::string bundle_dir;  // relative bind sources are relative to it
    bool user_ns = false;    // in a new user namespace (some mounts need fallbacks)
    const IdmappedTrees* idmapped = nullptr;  // detached trees made by the parent
    std::string mount_label;  // linux.mountLabel: SELinux context of tmpfs, devpts, mqueue
    bool own_cgroup_ns = false;  // in a new cgroup namespace (the `cgroup` mount type's view)
};

// The mount data with crun's `context="LABEL"` added for the file systems
// that take a mount label; unchanged for the others or without a label.
std::string with_mount_label(const std::string& data, const std::string& type, const std::string& label);

void do_mounts(const MountContext& ctx, const std::vector<oci::Mount>& mounts);

// Remounts an existing mount point read-only (bind remount), preserving the
// nosuid/nodev/noexec/atime flags the kernel locks in user namespaces.
void remount_readonly(const std::string& path, unsigned long extra_flags = 0);

// The MS_* flags currently applied to the mount containing path (from statvfs).
unsigned long current_mount_flags(const std::string& path);

}  // namespace berth::runtime
