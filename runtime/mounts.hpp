// The spec's "mounts", performed in order on the host side of the rootfs
// (before pivot_root), plus helpers shared with rootfs.cpp.
#pragma once
#include <string>
#include <vector>

#include "config/oci_spec.hpp"

namespace berth::runtime {

struct MountContext {
    std::string rootfs;      // absolute host path of the bound rootfs
    std::string bundle_dir;  // relative bind sources are relative to it
    bool user_ns = false;    // in a new user namespace (some mounts need fallbacks)
};

void do_mounts(const MountContext& ctx, const std::vector<oci::Mount>& mounts);

// Remounts an existing mount point read-only (bind remount), preserving the
// nosuid/nodev/noexec/atime flags the kernel locks in user namespaces.
void remount_readonly(const std::string& path, unsigned long extra_flags = 0);

// The MS_* flags currently applied to the mount containing path (from statvfs).
unsigned long current_mount_flags(const std::string& path);

}  // namespace berth::runtime
