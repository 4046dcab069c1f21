#include "init/handover.hpp"

#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <dirent.h>
#include <fcntl.h>

#include <chrono>
#include <thread>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "init/boot_files.hpp"
#include "init/copy_tree.hpp"
#include "init/early_boot.hpp"

namespace berth::init {

static constexpr const char* kNewRoot = "/.berth-root";

bool root_is_initramfs() {
    struct statfs st {};
    if (::statfs("/", &st) < 0) return false;
    return st.f_type == RAMFS_MAGIC || st.f_type == TMPFS_MAGIC;
}

static std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

std::string hand_over_initramfs() {
    if (::mkdir(kNewRoot, 0755) < 0 && errno != EEXIST) return errno_text("mkdir new root");
    if (::mount("tmpfs", kNewRoot, "tmpfs", 0, "mode=0755") < 0) return errno_text("mount tmpfs");
    CopyStats st = copy_tree("/", kNewRoot, true, {".berth-root", "proc", "sys", "dev"});
    for (const char* d : {"proc", "sys", "dev"}) {
        std::string p = std::string(kNewRoot) + "/" + d;
        if (::mkdir(p.c_str(), 0755) < 0 && errno != EEXIST) return errno_text("mkdir in new root");
    }
    if (st.errors)
        log::warn("initramfs hand-over: {} errors, first: {}", st.errors, st.first_error);
    if (::chdir(kNewRoot) < 0) return errno_text("chdir new root");
    if (::mount(".", "/", nullptr, MS_MOVE, nullptr) < 0) return errno_text("move new root onto /");
    if (::chroot(".") < 0) return errno_text("chroot");
    if (::chdir("/") < 0) return errno_text("chdir /");
    log::info("initramfs handed over to tmpfs: {} files, {} dirs, {} KiB", st.files, st.dirs,
              st.bytes / 1024);
    return {};
}

bool wants_squashfs_root() { return ::access(kSquashfsRootMarker, F_OK) == 0; }

namespace {

bool has_squashfs_signature(const std::string& dev) {
    fs::Fd fd(::open(dev.c_str(), O_RDONLY | O_CLOEXEC));
    char magic[4] = {};
    return fd && ::pread(fd.get(), magic, sizeof magic, 0) == ssize_t(sizeof magic) &&
           std::memcmp(magic, "hsqs", 4) == 0;
}

std::vector<std::string> block_devices() {
    std::vector<std::string> names;
    try {
        names = fs::list_dir("/sys/class/block");
    } catch (const std::exception&) {
    }
    std::sort(names.begin(), names.end());
    return names;
}

// Deletes the initramfs' files so their memory is freed; never crosses into another
// file system (the squashfs under kNewRoot, or anything still mounted).
void remove_same_fs(int dir_fd, dev_t dev) {
    DIR* d = ::fdopendir(dir_fd);
    if (!d) {
        ::close(dir_fd);
        return;
    }
    while (struct dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        struct stat st {};
        if (::fstatat(::dirfd(d), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev) continue;
        if (S_ISDIR(st.st_mode)) {
            int sub = ::openat(::dirfd(d), n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) remove_same_fs(sub, dev);
            ::unlinkat(::dirfd(d), n.c_str(), AT_REMOVEDIR);
        } else {
            ::unlinkat(::dirfd(d), n.c_str(), 0);
        }
    }
    ::closedir(d);
}

}  // namespace

std::string find_squashfs_root(const std::string& requested, int wait_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    for (;;) {
        if (!requested.empty()) {
            if (has_squashfs_signature(requested)) return requested;
        } else {
            for (const auto& n : block_devices())
                if (n.rfind("loop", 0) != 0 && n.rfind("ram", 0) != 0 && has_squashfs_signature("/dev/" + n))
                    return "/dev/" + n;
        }
        if (std::chrono::steady_clock::now() >= deadline) return {};
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

std::string switch_to_squashfs_root() {
    struct Early { const char* type; const char* target; };
    for (Early m : {Early{"proc", "/proc"}, Early{"sysfs", "/sys"}, Early{"devtmpfs", "/dev"}}) {
        if (::mkdir(m.target, 0755) < 0 && errno != EEXIST) return errno_text("mkdir for the squashfs search");
        if (::mount(m.type, m.target, m.type, MS_NOSUID | MS_NOEXEC, nullptr) < 0 && errno != EBUSY)
            return errno_text((std::string("mount ") + m.type).c_str());
    }
    BootSummary modules;
    load_modules("/etc/berth/modules", modules);
    auto cmdline = parse_cmdline(fs::try_read_file("/proc/cmdline").value_or(""));
    std::string requested = cmdline.count("berth.root") ? cmdline["berth.root"] : "";
    std::string dev = find_squashfs_root(requested, 15000);
    std::string err;
    if (dev.empty()) {
        err = requested.empty() ? "no disk with a squashfs signature appeared within 15 s"
                                : "`" + requested + "` (berth.root) does not hold a squashfs";
    } else if (::mkdir(kNewRoot, 0755) < 0 && errno != EEXIST) {
        err = errno_text("mkdir new root");
    } else if (::mount(dev.c_str(), kNewRoot, "squashfs", MS_RDONLY, nullptr) < 0) {
        err = errno_text(("mount squashfs " + dev).c_str());
    }
    // The normal boot mounts these again on whichever root it ends up with.
    for (const char* t : {"/dev", "/sys", "/proc"})
        if (::umount2(t, MNT_DETACH) < 0) log::warn("detach {}: {}", t, std::strerror(errno));
    if (!err.empty()) return err;

    struct stat st {};
    if (::stat("/", &st) == 0) {
        int fd = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) remove_same_fs(fd, st.st_dev);  // kNewRoot itself stays: it is a mount point
    }
    if (::chdir(kNewRoot) < 0) return errno_text("chdir new root");
    if (::mount(".", "/", nullptr, MS_MOVE, nullptr) < 0) return errno_text("move squashfs onto /");
    if (::chroot(".") < 0) return errno_text("chroot");
    if (::chdir("/") < 0) return errno_text("chdir /");
    log::info("root is the squashfs on {} (read-only)", dev);
    return {};
}

}  // namespace berth::init
