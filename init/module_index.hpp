// The kernel's module index as the image ships it: lib/modules/<version>/
// modules.alias (`alias PATTERN MODULE`) and modules.dep (`FILE: DEP...`, the
// dependency to load first last), both in depmod's formats. Pure parsing and
// matching; PID 1 reads the files through SysOps.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace berth::init {

class ModuleIndex {
public:
    // Both texts as read; malformed lines are skipped (counted in bad_lines()).
    ModuleIndex(const std::string& alias_text, const std::string& dep_text);

    // Modules (normalised names, first match first, each once) whose alias pattern
    // matches the device's modalias (glob_match: fnmatch(3)'s rules, as modprobe uses).
    std::vector<std::string> match(const std::string& modalias) const;
    // Files to load for `module`, relative to the modules directory, dependencies
    // first and the module last; empty when the index does not know it.
    std::vector<std::string> load_files(const std::string& module) const;

    std::size_t alias_count() const { return aliases_.size(); }
    std::size_t module_count() const { return deps_.size(); }
    int bad_lines() const { return bad_lines_; }

private:
    struct Alias {
        std::string pattern, module;
    };
    std::vector<Alias> aliases_;
    // name -> its file then its dependencies' files as modules.dep lists them.
    std::map<std::string, std::vector<std::string>> deps_;
    int bad_lines_ = 0;
};

// fnmatch(3) with no flags, for alias patterns: `*`, `?`, `[a-z]`, `[!x]`, `\\x`.
bool glob_match(const std::string& pattern, const std::string& text);

// "kernel/drivers/net/virtio_net.ko.xz" or "virtio-net" -> "virtio_net".
std::string module_name_of(const std::string& file_or_name);

}  // namespace berth::init
