#include "init/ab_slots.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/fs.hpp"

namespace berth::init {

namespace {

std::string errno_text(const std::string& what, int err) { return what + ": " + std::strerror(err); }

std::string entry_dir(const std::string& esp_dir) { return esp_dir + "/" + update::kBootEntryDir; }

// rename(2) inside the entries directory, then fsync of the directory: on FAT
// the rename is one directory entry rewritten, and it is on the disk before we say so.
std::string rename_entry(const std::string& esp_dir, const std::string& from, const std::string& to) {
    std::string dir = entry_dir(esp_dir);
    if (::rename((dir + "/" + from).c_str(), (dir + "/" + to).c_str()) < 0)
        return errno_text("rename " + from + " to " + to, errno);
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno_text("open " + dir, errno);
    int r = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (r < 0) return errno_text("fsync " + dir, err);
    return {};
}

}  // namespace

std::optional<char> booted_slot(const std::map<std::string, std::string>& cmdline) {
    auto it = cmdline.find("berth.slot");
    if (it == cmdline.end() || (it->second != "a" && it->second != "b")) return std::nullopt;
    return it->second[0];
}

std::string find_partition_by_name(SysOps& sys, const std::string& name) {
    for (const auto& n : sys.list_dir("/sys/class/block").value_or(std::vector<std::string>{})) {
        auto uevent = sys.read_file("/sys/class/block/" + n + "/uevent");
        if (!uevent) continue;
        std::size_t at = 0;
        while (at < uevent->size()) {
            std::size_t nl = uevent->find('\n', at);
            if (nl == std::string::npos) nl = uevent->size();
            if (uevent->compare(at, nl - at, "PARTNAME=" + name) == 0) return "/dev/" + n;
            at = nl + 1;
        }
    }
    return {};
}

std::vector<EntryFile> list_boot_entries(const std::string& esp_dir) {
    std::vector<EntryFile> out;
    std::vector<std::string> names;
    try {
        names = fs::list_dir(entry_dir(esp_dir));
    } catch (...) {
        return out;
    }
    for (const auto& f : names)
        if (auto e = update::parse_boot_entry_file(f)) out.push_back({f, *e});
    return out;
}

std::string bless_entry(const std::string& esp_dir, char slot, std::string* note) {
    for (const auto& e : list_boot_entries(esp_dir)) {
        if (e.name.slot != slot) continue;
        if (e.name.tries_left < 0) {
            if (note) *note = "already committed (" + e.file + ")";
            return {};
        }
        update::BootEntryName done = e.name;
        done.tries_left = done.tries_done = -1;
        if (note) *note = e.file + " -> " + update::boot_entry_file(done);
        return rename_entry(esp_dir, e.file, update::boot_entry_file(done));
    }
    return std::string("no boot entry for slot ") + slot + " in " + entry_dir(esp_dir);
}

std::string exhaust_entry(const std::string& esp_dir, char slot) {
    for (const auto& e : list_boot_entries(esp_dir)) {
        if (e.name.slot != slot) continue;
        update::BootEntryName out = e.name;
        out.tries_left = 0;
        out.tries_done = std::max(e.name.tries_done, 0) + 1;
        return rename_entry(esp_dir, e.file, update::boot_entry_file(out));
    }
    return std::string("no boot entry for slot ") + slot;
}

EspMount::EspMount(SysOps& sys, const std::string& dir) : sys_(sys), dir_(dir) {
    std::string dev = find_partition_by_name(sys, update::kEspPartName);
    if (dev.empty()) {
        error_ = std::string("no partition named ") + update::kEspPartName;
        return;
    }
    if (int e = sys.mkdir(dir, 0700); e && e != -EEXIST) {
        error_ = errno_text("mkdir " + dir, -e);
        return;
    }
    if (int e = sys.mount(dev, dir, "vfat", MS_NOSUID | MS_NODEV | MS_NOEXEC, "")) {
        error_ = errno_text("mount the ESP " + dev + " on " + dir, -e);
        return;
    }
    mounted_ = true;
}

EspMount::~EspMount() {
    if (!mounted_) return;
    sys_.sync();
    sys_.umount(dir_, 0);
}

}  // namespace berth::init
