#include "init/handover.hpp"

#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.hpp"
#include "init/copy_tree.hpp"

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

}  // namespace berth::init
