// Makes an initramfs root a mount that pivot_root(2) accepts for every
// container afterwards (it refuses the kernel's rootfs, which has no parent).
#pragma once
#include <string>

#include "init/sys_ops.hpp"

namespace berth::init {

// True when "/" is ramfs or tmpfs, i.e. the kernel's initramfs.
bool root_is_initramfs(SysOps& sys);

// Binds the initramfs onto a directory of its own, moves that mount onto / and
// chroots into it: the root is then a mount with a parent, as pivot_root(2)
// requires, with no file copied (the files stay where the kernel unpacked them).
// Returns an empty string, or the reason it failed. `moved` tells whether the
// bind was already on /: when it was not, nothing is left mounted and the copy
// may run instead; when it was (chroot failed), the boot goes on unchrooted,
// and containers fall back to MS_MOVE+chroot.
std::string bind_initramfs_root(SysOps& sys, bool& moved);

// The former hand-over, kept as the fallback when the bind fails and for
// comparison (BERTH_HANDOVER=copy). Copies / into a new tmpfs (freeing the
// initramfs file by file), moves it onto / and chroots into it. Returns an
// empty string, or the reason it failed (the boot then continues on the old
// root; containers fall back to MS_MOVE+chroot).
std::string hand_over_initramfs(SysOps& sys);

// The kernel+squashfs output: a small initramfs whose marker file asks PID 1 to
// mount the image's squashfs (on a disk) read-only as the root.
constexpr const char* kSquashfsRootMarker = "/etc/berth/squashfs-root";
bool wants_squashfs_root(SysOps& sys);

// The device holding the squashfs root: `requested` (berth.root=) when given, else
// the first whole block device or partition whose first bytes are the squashfs
// signature. Waits at most `wait_ms` for it to appear (disk drivers probe
// asynchronously). Returns "" when none is found.
std::string find_squashfs_root(SysOps& sys, const std::string& requested, int wait_ms);

// Loads the boot modules, mounts the squashfs read-only, frees the initramfs and
// makes the squashfs the root (as the tmpfs hand-over does, so pivot_root works
// for containers). /proc, /sys and /dev are mounted for the search and detached
// again; the normal boot mounts them on the new root. Returns "" or the reason.
// With berth.verity.* keys on the command line the disk is read only through a
// dm-verity device (init/dm_verity.hpp); when that cannot be set up or mounted,
// `*verity_refused` (when given) is set: the caller must not boot on.
std::string switch_to_squashfs_root(SysOps& sys, bool* verity_refused = nullptr);

}  // namespace berth::init
