// Choosing QEMU's accelerator. A /dev/kvm that opens is not proof that KVM works:
// nested KVM can hang, or abort QEMU when it resets the vCPU (`failed to set MSR`),
// and that can depend on the machine type and CPU model. So `auto` first boots
// something tiny under KVM with the very machine and CPU model of the real boot and
// looks for its serial output. The verdict is cached per host boot and per
// (QEMU binary, machine, CPU model, vCPU count), for every boot path alike.
#pragma once
#include <optional>
#include <string>

#include "builder/arch.hpp"

namespace berth::builder {

enum class AccelMode { automatic, kvm, tcg };
enum class Accel { kvm, tcg };

AccelMode parse_accel_mode(const std::string& s);  // auto | kvm | tcg; throws
const char* accel_name(Accel a);

// The machine type and the CPU model a boot under `accel` uses; the real boot and
// the probe both take them from here.
struct MachineModel {
    std::string machine;  // q35 | virt
    std::string cpu;      // host under KVM; max (arm64: max with the fast pauth) under TCG
};
MachineModel machine_model(Arch arch, Accel accel);

struct ProbeSettings {
    std::string qemu = "qemu-system-x86_64";
    // The kernel to boot for the probe; "" = the built-in boot sector (amd64 only;
    // for another architecture without a kernel there is nothing to probe with, and
    // `auto` means TCG).
    std::string kernel;
    Arch arch = host_arch();  // the guest's; KVM runs only the host's own
    unsigned cpus = 1;        // as the real boot
    int timeout_ms = 8000;
    std::string cache_file;   // default: $XDG_RUNTIME_DIR or /tmp, per user
    std::string boot_id;      // default: the host's (/proc/sys/kernel/random/boot_id)
};

bool kvm_device_usable();  // /dev/kvm opens read-write

// True when QEMU+KVM, with machine_model(arch, kvm), printed the probe's marker on
// the serial port within the timeout: "Linux version" for a kernel, the boot
// sector's own line otherwise.
bool probe_kvm_boots(const ProbeSettings& s);

// The 512 bytes of the probe's boot sector: real-mode code that writes
// kBootSectorMarker to COM1 and halts. Booted from a floppy by QEMU's BIOS.
std::string probe_boot_sector();
extern const char* const kBootSectorMarker;

// One cache line's key: the host boot, QEMU, machine, CPU model and vCPU count.
std::string probe_cache_key(const ProbeSettings& s);
// The cached verdict for that key, if the cache file holds one.
std::optional<Accel> cached_verdict(const std::string& cache_file, const std::string& key);
// Records a verdict (atomically; lines of other host boots are dropped, other keys kept).
void cache_verdict(const std::string& cache_file, const std::string& key, Accel verdict);

// What to do, given the facts: use KVM, use TCG, or probe first. Throws for
// --accel kvm when KVM cannot be used at all (foreign guest, no /dev/kvm).
enum class AccelStep { use_kvm, use_tcg, probe };
AccelStep decide_accel(AccelMode mode, Arch guest, Arch host, bool kvm_device, std::optional<Accel> cached);

// Applies the mode: kvm (error if /dev/kvm is unusable or the guest is for another
// architecture), tcg, or auto (TCG for a foreign guest or without /dev/kvm; else
// the cached verdict, else a probe whose verdict is cached).
Accel choose_accel(AccelMode mode, const ProbeSettings& s);

std::string default_probe_cache_file();

}  // namespace berth::builder
