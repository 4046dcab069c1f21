// The container's root: propagation, the rootfs bind, pivot_root, read-only
// root, masked and read-only paths, and the minimal /dev.
#pragma once
#include <sys/types.h>
#include <string>
#include <vector>

#include "config/oci_spec.hpp"

namespace berth::runtime {

// Sets the propagation of every mount of the new mount namespace (so nothing
// leaks back to the host) and binds rootfs onto itself so it is a mount point
// that pivot_root accepts.
void prepare_rootfs(const std::string& rootfs, const std::string& propagation);

// When /dev is a tmpfs in the spec: make the basic device nodes (but those
// linux.devices lists, made by create_device_nodes) with the host's numbers and
// modes, bound from the host instead with bind_from_host or where mknod is not
// permitted; and create the /dev/fd, std{in,out,err} and ptmx symlinks.
void setup_dev(const std::string& rootfs, const std::vector<oci::Device>& devices, bool bind_from_host);
bool dev_is_tmpfs(const std::vector<oci::Mount>& mounts);
// The spec's /dev mount has the nodev option (nodes made on it cannot be opened).
bool dev_is_nodev(const std::vector<oci::Mount>& mounts);

// Makes rootfs the new "/": pivot_root, then the old root detached; where
// pivot_root is impossible (the initramfs) falls back to MS_MOVE + chroot.
void enter_rootfs(const std::string& rootfs);

// After entering the rootfs: re-apply shared propagation if requested.
void finish_propagation(const std::string& propagation);

void mask_paths(const std::vector<std::string>& paths);
void readonly_paths(const std::vector<std::string>& paths);
void readonly_root();

}  // namespace berth::runtime
