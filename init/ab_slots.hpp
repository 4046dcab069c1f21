// The A/B disk seen from the running machine (docs/updates.md): which slot
// this boot is, where the slots and the ESP are, and the ESP's boot entries.
// Used by PID 1 (the root search, and a child process that commits a boot) and
// by `berth update` (ctl/update_cmd.cpp); the names are config/update_bundle.hpp's.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/update_bundle.hpp"
#include "init/sys_ops.hpp"

namespace berth::init {

// `berth.slot=a|b` on the kernel command line; nullopt when absent or malformed.
std::optional<char> booted_slot(const std::map<std::string, std::string>& cmdline);
inline char other_slot(char s) { return s == 'a' ? 'b' : 'a'; }

// "/dev/NAME" of the partition whose GPT name is `name` (the kernel's PARTNAME=
// in /sys/class/block/*/uevent), or "".
std::string find_partition_by_name(SysOps& sys, const std::string& name);

// berth's boot entries (unified kernel images) in ESP/EFI/Linux, sorted by file name.
struct EntryFile {
    std::string file;
    update::BootEntryName name;
};
std::vector<EntryFile> list_boot_entries(const std::string& esp_dir);

// Commits the boot of `slot`: its entry with a boot counter is renamed to the
// name without one (systemd-boot then boots it without counting). Returns ""
// on success (or when it has no counter: "already committed" in *note), else why not.
std::string bless_entry(const std::string& esp_dir, char slot, std::string* note);

// Marks the committed or counting entry of `slot` as out of tries (+0), so
// that the loader prefers the other slot's entry on the next boot.
std::string exhaust_entry(const std::string& esp_dir, char slot);

// The ESP mounted (vfat) at `dir` for the lifetime of the object. ok() false:
// error() says why (nothing is mounted then).
class EspMount {
public:
    EspMount(SysOps& sys, const std::string& dir);
    ~EspMount();
    bool ok() const { return error_.empty(); }
    const std::string& error() const { return error_; }
    const std::string& dir() const { return dir_; }
    EspMount(const EspMount&) = delete;
    EspMount& operator=(const EspMount&) = delete;

private:
    SysOps& sys_;
    std::string dir_, error_;
    bool mounted_ = false;
};

}  // namespace berth::init
