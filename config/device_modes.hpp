// The modes and groups of common device nodes, as programs expect them: the
// values of Debian's udev rules (50-udev-default.rules), which PID 1 applies to
// the kernel's nodes in /dev at boot and when a device appears (init/node_modes.hpp).
// Owner is always root; a group is a name, resolved through the image's
// /etc/group, else through Debian's fixed ids (debian_fixed_gid).
#pragma once
#include <sys/types.h>

#include <optional>
#include <span>
#include <string_view>

namespace berth::config {

struct DeviceModeRule {
    // A glob (fnmatch(3) rules, no flags) over "SUBSYSTEM:DEVNAME", e.g.
    // "tty:tty[0-9]*" or "misc:net/tun"; the first rule that matches wins.
    // Arrays, not pointers: the table is read-only data with no relocations
    // (PID 1 is a static binary held to a size).
    char match[24];
    char group[8];  // "" for root
    unsigned short mode;
};

// The table, most specific rules first.
std::span<const DeviceModeRule> device_mode_rules();

// Whether the kernel names this subsystem's nodes in /dev by the device's own
// (sysfs) name: the classes whose `devnode` callback sets only a mode (tty, mem)
// or that have none (vc). The others may add a directory ("input/event0",
// "net/tun", "dri/card0"), which only the device's uevent tells.
bool devname_is_kernel_name(std::string_view subsystem);

// Debian's base-passwd gives these groups fixed ids (tty 5, disk 6, lp 7, kmem
// 15, dialout 20, cdrom 24, tape 26, audio 29, video 44); the others the table
// names (kvm, input, render, sgx) are made by packages with whatever id is
// free, so they have none here.
std::optional<gid_t> debian_fixed_gid(std::string_view group);

}  // namespace berth::config
