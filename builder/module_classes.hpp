// `kernel: modules: auto`: which of a kernel's modules an image ships, by hardware
// class, and the modules.alias / modules.dep files PID 1 reads to load the ones the
// machine's devices match (coldplug at boot, hotplug later).
#pragma once
#include <string>
#include <vector>

#include "builder/module_deps.hpp"

namespace berth::builder {

struct ModuleClass {
    const char* name;         // "virtio"
    const char* description;  // for docs and errors
    // Below lib/modules/<version>/: a directory ("kernel/drivers/nvme/host/") or one
    // module file without its suffix ("kernel/drivers/net/virtio_net").
    std::vector<const char*> paths;
};

// Every class, in documentation order.
const std::vector<ModuleClass>& module_classes();
// What `modules: auto` means: every class above.
std::vector<std::string> default_module_classes();

bool is_module_class(const std::string& name);  // a class above or "all"
std::string module_class_names();               // "virtio, nic, ..., all"

// The modules (normalised names, sorted) of the given classes that this kernel
// has; "all" means every module. Unknown class names throw berth::Error.
std::vector<std::string> modules_of_classes(const ModuleTree& tree, const std::vector<std::string>& classes);

// `alias PATTERN MODULE` lines (depmod's modules.alias format) for the shipped
// modules, in the order of `shipped` and of each module's own .modinfo.
std::string modules_alias_text(const ModuleTree& tree, const std::vector<std::string>& shipped);
// `FILE: DEP...` lines (depmod's modules.dep format: every dependency, the ones
// to load first at the end) for the shipped modules, paths relative to the
// modules directory. `load_order` is the resolved closure, dependencies first.
std::string modules_dep_text(const ModuleTree& tree, const std::vector<std::string>& load_order);

}  // namespace berth::builder
