// Moves an initramfs root into a fresh tmpfs so that pivot_root(2) works for
// every container afterwards (it fails on the rootfs of the initramfs).
#pragma once
#include <string>

namespace berth::init {

// True when "/" is ramfs or tmpfs, i.e. the kernel's initramfs.
bool root_is_initramfs();

// Copies / into a new tmpfs (freeing the initramfs file by file), moves it onto
// / and chroots into it. Returns an empty string, or the reason it failed (the
// boot then continues on the old root; containers fall back to MS_MOVE+chroot).
std::string hand_over_initramfs();

}  // namespace berth::init
