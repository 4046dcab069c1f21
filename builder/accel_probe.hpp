// Choosing QEMU's accelerator. A /dev/kvm that opens is not proof that KVM works
// (nested KVM can hang), so `auto` boots the kernel briefly under KVM and looks for
// serial output before trusting it. The verdict is cached once per host boot.
#pragma once
#include <string>

#include "builder/arch.hpp"

namespace berth::builder {

enum class AccelMode { automatic, kvm, tcg };
enum class Accel { kvm, tcg };

AccelMode parse_accel_mode(const std::string& s);  // auto | kvm | tcg; throws
const char* accel_name(Accel a);

struct ProbeSettings {
    std::string qemu = "qemu-system-x86_64";
    std::string kernel;           // the kernel to boot for the probe
    Arch arch = host_arch();      // the guest's; KVM runs only the host's own
    int timeout_ms = 8000;
    std::string cache_file;       // default: $XDG_RUNTIME_DIR or /tmp, per user
};

bool kvm_device_usable();  // /dev/kvm opens read-write

// True when QEMU+KVM printed "Linux version" on the serial port within the timeout.
bool probe_kvm_boots(const ProbeSettings& s);

// Applies the mode: kvm (error if /dev/kvm is unusable or the guest is for another
// architecture), tcg, or auto (TCG for a foreign guest; else probe, cached).
Accel choose_accel(AccelMode mode, const ProbeSettings& s);

std::string default_probe_cache_file();

}  // namespace berth::builder
