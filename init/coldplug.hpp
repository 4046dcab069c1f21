// Loading the kernel modules the machine's devices need, by their modalias:
// at boot for the devices present (coldplug), later for each one the kernel
// announces (hotplug, see uevent.hpp). The module index is the image's
// lib/modules/<version>/modules.alias and modules.dep (written by `berth build`).
#pragma once
#include <map>
#include <optional>
#include <set>
#include <string>

#include "init/module_index.hpp"
#include "init/sys_ops.hpp"

namespace berth::init {

struct ColdplugStats {
    int devices = 0;         // devices with a modalias (at the last pass)
    int modules_loaded = 0;  // finit_module calls that succeeded
    int modules_failed = 0;
    int passes = 0;
};

class DeviceModules {
public:
    // Reads the index of the running kernel (/proc/sys/kernel/osrelease) and the
    // modules already loaded (/proc/modules). nullopt when the image ships no index.
    static std::optional<DeviceModules> open(SysOps& sys);
    DeviceModules(SysOps& sys, std::string modules_dir, ModuleIndex index);

    // Loads what one device's modalias matches, dependencies first, each module
    // at most once per boot (a failure is not retried). Returns modules loaded.
    int load_for(const std::string& modalias, ColdplugStats& stats);
    // Every device on a bus (/sys/bus/*/devices/*/modalias: the devices under
    // /sys/devices that have a modalias), again while a pass loaded something
    // (a loaded bus driver adds devices: virtio_pci adds the virtio ones), at
    // most `max_passes` times.
    ColdplugStats coldplug(int max_passes = 4);

    const ModuleIndex& index() const { return index_; }
    bool tried(const std::string& module) const { return tried_.count(module) != 0; }

private:
    SysOps& sys_;
    std::string dir_;  // "/lib/modules/6.1.0-57-cloud-amd64"
    ModuleIndex index_;
    std::set<std::string> tried_;  // loaded, built in, or failed: never tried again
    std::set<std::string> seen_aliases_;
    // Devices whose modalias a pass has read: a later pass reads only the new
    // ones (a device's modalias does not change; its module was tried).
    std::map<std::string, bool> seen_devices_;  // path -> it has a modalias
};

// Names in /proc/modules text (first word of each line).
std::set<std::string> parse_proc_modules(const std::string& text);

}  // namespace berth::init
