#include "config/device_modes.hpp"

#include <array>

namespace berth::config {

namespace {

// From Debian 12's udev (systemd 252) 50-udev-default.rules, for the nodes a
// container host meets. Where a rule gives a group and no mode, udev uses 0660.
// /dev/kvm: 0666 as upstream systemd's default (Debian builds it 0660; a guest
// cannot be made through /dev/kvm without the other access KVM checks itself,
// and containers rarely share the image's kvm group id).
// Nodes no rule names keep devtmpfs's mode (0600 root: /dev/rtc0, /dev/hwrng,
// /dev/sg*, whose group depends on the SCSI type udev reads).
constexpr std::array kRules{
    DeviceModeRule{"mem:mem", "kmem", 0640},
    DeviceModeRule{"mem:kmem", "kmem", 0640},
    DeviceModeRule{"mem:port", "kmem", 0640},
    DeviceModeRule{"mem:kmsg", "", 0644},
    DeviceModeRule{"mem:*", "", 0666},  // null, zero, full, random, urandom
    DeviceModeRule{"tty:tty", "tty", 0666},
    DeviceModeRule{"tty:ptmx", "tty", 0666},
    DeviceModeRule{"tty:tty[0-9]*", "tty", 0620},
    DeviceModeRule{"tty:hvc[0-9]*", "tty", 0620},
    DeviceModeRule{"tty:tty[A-Z]*[0-9]", "dialout", 0660},  // ttyS0, ttyUSB0, ttyACM0, ttyAMA0
    DeviceModeRule{"vc:vcs*", "tty", 0660},
    DeviceModeRule{"misc:kvm", "kvm", 0666},
    DeviceModeRule{"misc:vhost-net", "kvm", 0666},
    DeviceModeRule{"misc:vhost-vsock", "kvm", 0666},
    DeviceModeRule{"misc:udmabuf", "kvm", 0660},
    DeviceModeRule{"misc:net/tun", "", 0666},
    DeviceModeRule{"misc:fuse", "", 0666},
    DeviceModeRule{"misc:rfkill", "", 0664},
    DeviceModeRule{"misc:loop-control", "disk", 0660},
    DeviceModeRule{"misc:btrfs-control", "disk", 0660},
    DeviceModeRule{"misc:sgx_*", "sgx", 0660},
    DeviceModeRule{"block:sr[0-9]*", "cdrom", 0660},
    DeviceModeRule{"block:*", "disk", 0660},
    DeviceModeRule{"scsi_tape:*", "tape", 0660},
    DeviceModeRule{"input:js[0-9]*", "input", 0664},
    DeviceModeRule{"input:*", "input", 0660},
    DeviceModeRule{"sound:*", "audio", 0660},
    DeviceModeRule{"drm:renderD*", "render", 0666},
    DeviceModeRule{"drm:*", "video", 0660},
    DeviceModeRule{"kfd:*", "render", 0666},
    DeviceModeRule{"video4linux:*", "video", 0660},
    DeviceModeRule{"graphics:*", "video", 0660},
    DeviceModeRule{"dvb:*", "video", 0660},
    DeviceModeRule{"media:*", "video", 0660},
    DeviceModeRule{"cec:*", "video", 0660},
    DeviceModeRule{"printer:lp*", "lp", 0660},
    DeviceModeRule{"usbmisc:usb/lp*", "lp", 0660},
    DeviceModeRule{"ppdev:*", "lp", 0660},
};

}  // namespace

std::span<const DeviceModeRule> device_mode_rules() { return kRules; }

bool devname_is_kernel_name(std::string_view subsystem) {
    return subsystem == "tty" || subsystem == "mem" || subsystem == "vc";
}

std::optional<gid_t> debian_fixed_gid(std::string_view group) {
    static constexpr struct {
        char name[8];
        unsigned char gid;
    } kFixed[] = {
        {"root", 0},     {"tty", 5},    {"disk", 6},  {"lp", 7},     {"kmem", 15},
        {"dialout", 20}, {"cdrom", 24}, {"tape", 26}, {"audio", 29}, {"video", 44},
    };
    for (const auto& f : kFixed)
        if (group == f.name) return f.gid;
    return std::nullopt;
}

}  // namespace berth::config
