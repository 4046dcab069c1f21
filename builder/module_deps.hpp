// Kernel module dependency closure, from each module's own `.modinfo` section
// (no depmod output needed).
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace berth::builder {

// "virtio-rng" -> "virtio_rng"; "kernel/drivers/x/foo-bar.ko.xz" -> "foo_bar".
std::string normalise_module_name(const std::string& name_or_path);

// The key=value strings of a module's .modinfo ELF section (transparently
// decompressing .ko.xz / .ko.zst / .ko.gz). Throws berth::Error.
std::vector<std::string> read_modinfo(const std::string& ko_path);
// Parses a .modinfo blob (NUL separated key=value strings).
std::vector<std::string> parse_modinfo_section(const std::string& blob);
// Module names from the `depends=` entries ("" and duplicates dropped, normalised).
std::vector<std::string> modinfo_depends(const std::vector<std::string>& modinfo);
// The device patterns of its `alias=` entries ("pci:v00001AF4d00001000sv*..."), in order.
std::vector<std::string> modinfo_aliases(const std::vector<std::string>& modinfo);

struct ModuleLoadPlan {
    std::vector<std::string> load_order;  // normalised names, dependencies first
    std::vector<std::string> builtin;     // requested (or needed) but built into the kernel
};

// What the resolver needs to know about a module name (normalised):
// std::nullopt = unknown; otherwise its dependencies.
struct ModuleFacts {
    std::function<bool(const std::string&)> is_builtin;
    std::function<std::optional<std::vector<std::string>>(const std::string&)> depends;
    std::function<std::vector<std::string>()> all_names;  // for "did you mean"
};

// Depth-first closure; each module appears once, after all of its dependencies.
// Requested order is kept where dependencies allow. Unknown names and cycles throw.
ModuleLoadPlan resolve_modules(const std::vector<std::string>& requested, const ModuleFacts& facts);

// The modules of one kernel: lib/modules/<version>/.
class ModuleTree {
public:
    explicit ModuleTree(std::string modules_dir);  // scans kernel/ and reads modules.builtin
    const std::string& dir() const { return dir_; }
    // Path relative to dir(), e.g. "kernel/drivers/net/virtio_net.ko".
    std::optional<std::string> file_of(const std::string& name) const;
    bool is_builtin(const std::string& name) const;
    std::vector<std::string> depends(const std::string& name) const;  // cached modinfo
    std::vector<std::string> aliases(const std::string& name) const;  // cached modinfo
    // Names of the modules whose file lies below `rel_prefix` ("kernel/drivers/nvme/")
    // or is that file ("kernel/drivers/net/virtio_net.ko"); sorted.
    std::vector<std::string> names_under(const std::string& rel_prefix) const;
    std::vector<std::string> all_module_names() const;
    ModuleFacts facts() const;

private:
    std::string dir_;
    std::map<std::string, std::string> files_;
    std::set<std::string> builtin_;
    const std::vector<std::string>& modinfo(const std::string& name) const;
    mutable std::map<std::string, std::vector<std::string>> modinfo_cache_;
};

}  // namespace berth::builder
