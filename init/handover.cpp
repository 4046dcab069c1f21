#include "init/handover.hpp"

#include <linux/magic.h>
#include <sys/mount.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.hpp"
#include "init/ab_slots.hpp"
#include "init/boot_files.hpp"
#include "init/disk_probe.hpp"
#include "init/dm_verity.hpp"
#include "init/early_boot.hpp"

namespace berth::init {

static constexpr const char* kNewRoot = "/.berth-root";

bool root_is_initramfs(SysOps& sys) {
    long type = sys.fs_type("/");
    return type == long(RAMFS_MAGIC) || type == long(TMPFS_MAGIC);
}

// "what: strerror" for a -errno result.
static std::string failed(const std::string& what, int err) { return what + ": " + std::strerror(-err); }

std::string hand_over_initramfs(SysOps& sys) {
    if (int e = sys.mkdir(kNewRoot, 0755)) return failed("mkdir new root", e);
    if (int e = sys.mount("tmpfs", kNewRoot, "tmpfs", 0, "mode=0755")) return failed("mount tmpfs", e);
    CopyStats st = sys.copy_tree("/", kNewRoot, true, {".berth-root", "proc", "sys", "dev"});
    for (const char* d : {"proc", "sys", "dev"})
        if (int e = sys.mkdir(std::string(kNewRoot) + "/" + d, 0755)) return failed("mkdir in new root", e);
    if (st.errors)
        log::warn("initramfs hand-over: {} errors, first: {}", st.errors, st.first_error);
    if (int e = sys.chdir(kNewRoot)) return failed("chdir new root", e);
    if (int e = sys.mount(".", "/", "", MS_MOVE, "")) return failed("move new root onto /", e);
    if (int e = sys.chroot(".")) return failed("chroot", e);
    if (int e = sys.chdir("/")) return failed("chdir /", e);
    log::info("initramfs handed over to tmpfs: {} files, {} dirs, {} KiB", st.files, st.dirs,
              st.bytes / 1024);
    return {};
}

std::string bind_initramfs_root(SysOps& sys, bool& moved) {
    moved = false;
    if (int e = sys.mkdir(kNewRoot, 0755)) return failed("mkdir new root", e);
    // The initramfs bound onto one of its own directories is a mount with a
    // parent, which is what pivot_root(2) asks of the root; nothing is copied.
    if (int e = sys.mount("/", kNewRoot, "", MS_BIND, "")) return failed("bind the initramfs on " + std::string(kNewRoot), e);
    if (int e = sys.chdir(kNewRoot)) return failed("chdir new root", e);
    if (int e = sys.mount(".", "/", "", MS_MOVE, "")) {
        std::string err = failed("move the bind onto /", e);
        sys.chdir("/");
        if (int u = sys.umount(kNewRoot, MNT_DETACH)) log::warn("detach {}: {}", kNewRoot, std::strerror(-u));
        return err;
    }
    moved = true;
    if (int e = sys.chroot(".")) return failed("chroot", e);
    if (int e = sys.chdir("/")) return failed("chdir /", e);
    // Seen from the new root it is an empty directory of the image's own tree.
    if (int e = sys.rmdir(kNewRoot)) log::warn("rmdir {}: {}", kNewRoot, std::strerror(-e));
    log::info("initramfs bound onto / in place (no copy): pivot_root works for containers");
    return {};
}

bool wants_squashfs_root(SysOps& sys) { return sys.exists(kSquashfsRootMarker); }

namespace {

// The same probe as the /dev/disk links (the squashfs magic is in the first 4 bytes).
bool has_squashfs_signature(SysOps& sys, const std::string& dev) {
    auto head = sys.read_head(dev, 4);
    if (!head) return false;
    auto fs = probe_filesystem(*head);
    return fs && fs->type == "squashfs";
}

}  // namespace

std::string find_squashfs_root(SysOps& sys, const std::string& requested, int wait_ms) {
    std::int64_t deadline = sys.now_ms() + wait_ms;
    for (;;) {
        if (requested.rfind("PARTLABEL=", 0) == 0) {
            // An A/B slot: the partition appears with its disk, maybe after a while.
            std::string dev = find_partition_by_name(sys, requested.substr(10));
            if (!dev.empty() && has_squashfs_signature(sys, dev)) return dev;
        } else if (!requested.empty()) {
            if (has_squashfs_signature(sys, requested)) return requested;
        } else {
            for (const auto& n : sys.list_dir("/sys/class/block").value_or(std::vector<std::string>{}))
                if (n.rfind("loop", 0) != 0 && n.rfind("ram", 0) != 0 && has_squashfs_signature(sys, "/dev/" + n))
                    return "/dev/" + n;
        }
        if (sys.now_ms() >= deadline) return {};
        sys.sleep_ms(50);
    }
}

std::string switch_to_squashfs_root(SysOps& sys, bool* verity_refused) {
    struct Early { const char* type; const char* target; };
    for (Early m : {Early{"proc", "/proc"}, Early{"sysfs", "/sys"}, Early{"devtmpfs", "/dev"}}) {
        if (int e = sys.mkdir(m.target, 0755)) return failed("mkdir for the squashfs search", e);
        if (int e = sys.mount(m.type, m.target, m.type, MS_NOSUID | MS_NOEXEC, ""); e && e != -EBUSY)
            return failed(std::string("mount ") + m.type, e);
    }
    BootSummary modules;
    load_modules(sys, "/etc/berth/modules", modules);
    auto cmdline = parse_cmdline(sys.read_file("/proc/cmdline").value_or(""));
    std::string requested = cmdline.count("berth.root") ? cmdline["berth.root"] : "";
    // An A/B disk's entry names its slot; the slot's partition is found by its GPT name.
    if (auto slot = booted_slot(cmdline); slot && requested.empty()) {
        requested = "PARTLABEL=" + update::slot_part_name(*slot);
        log::info("A/B boot: slot {}, root on the partition named {}", *slot, update::slot_part_name(*slot));
    }
    std::string dev = find_squashfs_root(sys, requested, 15000);
    std::string err;
    if (dev.empty()) {
        err = requested.empty() ? "no disk with a squashfs signature appeared within 15 s"
                                : "`" + requested + "` (berth.root) does not hold a squashfs";
    } else if (verity_requested(cmdline)) {
        // A root hash on the command line: the root is verified or refused,
        // never mounted unverified.
        std::string verr;
        auto p = verity_params(cmdline, verr);
        std::string mapped = p ? setup_verity(sys, dev, *p, verr) : "";
        if (!mapped.empty()) {
            log::info("verified root: {} maps {} (dm-verity, sha256, root hash {})", mapped, dev, p->root_hash);
            dev = mapped;
        } else {
            err = "verified root refused, " + dev + " not mounted: " + verr;
        }
    }
    if (err.empty()) {
        if (int e = sys.mkdir(kNewRoot, 0755)) {
            err = failed("mkdir new root", e);
        } else if (int e = sys.mount(dev, kNewRoot, "squashfs", MS_RDONLY, "")) {
            err = failed("mount squashfs " + dev, e);
            // A wrong root hash shows here: the first block read fails with EIO.
            if (verity_requested(cmdline)) err = "verified root refused (does the root hash match the disk?): " + err;
        }
    }
    // The normal boot mounts these again on whichever root it ends up with.
    for (const char* t : {"/dev", "/sys", "/proc"})
        if (int e = sys.umount(t, MNT_DETACH)) log::warn("detach {}: {}", t, std::strerror(-e));
    if (!err.empty()) {
        if (verity_refused && verity_requested(cmdline)) *verity_refused = true;
        return err;
    }

    sys.remove_same_fs("/");  // kNewRoot itself stays: it is a mount point
    if (int e = sys.chdir(kNewRoot)) return failed("chdir new root", e);
    if (int e = sys.mount(".", "/", "", MS_MOVE, "")) return failed("move squashfs onto /", e);
    if (int e = sys.chroot(".")) return failed("chroot", e);
    if (int e = sys.chdir("/")) return failed("chdir /", e);
    log::info("root is the squashfs on {} (read-only)", dev);
    return {};
}

}  // namespace berth::init
