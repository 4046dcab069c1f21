// Early boot through the system-call seam: mounts, the initramfs hand-over,
// the squashfs root, modules, sysctl and hostname, with no kernel behind them.
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>

#include <catch2/catch.hpp>

#include "common/log.hpp"
#include "fake_sys.hpp"
#include "log_capture.hpp"
#include "init/early_boot.hpp"
#include "init/handover.hpp"
#include "init/mount_plan.hpp"

using namespace berth::init;
using testing::FakeSys;
using testing::LogCapture;

namespace {

// The kernel's offer on a typical guest.
const char* kFilesystems = "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\nnodev\tdevpts\n"
                           "nodev\tcgroup2\nnodev\tmqueue\n\text4\n";

std::vector<std::string> with_prefix(const std::vector<std::string>& calls, const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& c : calls)
        if (c.rfind(prefix, 0) == 0) out.push_back(c.substr(prefix.size()));
    return out;
}

// Index of the first call equal to `c`, or -1.
long position(const std::vector<std::string>& calls, const std::string& c) {
    auto it = std::find(calls.begin(), calls.end(), c);
    return it == calls.end() ? -1 : long(it - calls.begin());
}

std::string flags(unsigned long f) { return std::to_string(f); }

}  // namespace

TEST_CASE("early boot: kernel file systems in plan order, a failing mount logged with its path and errno, the boot goes on") {
    LogCapture log;
    FakeSys sys;
    sys.pid = 42;  // not on an initramfs: no hand-over
    sys.files["/proc/filesystems"] = kFilesystems;
    sys.mount_errors["/dev/pts"] = -EACCES;
    BootSummary summary = early_boot(sys);

    std::vector<std::string> expected;
    for (const auto& s : kernel_mounts(parse_filesystems(kFilesystems))) expected.push_back(s.target);
    std::vector<std::string> mounted;
    for (const auto& m : with_prefix(sys.calls, "mount ")) mounted.push_back(m.substr(0, m.find(' ')));
    REQUIRE(mounted.size() > expected.size());
    CHECK(std::vector<std::string>(mounted.begin(), mounted.begin() + long(expected.size())) == expected);
    CHECK(log.has("ERROR: mount devpts on /dev/pts: Permission denied"));
    CHECK(summary.cgroup2);
    // The mounts after the failing one and the rest of the boot still ran.
    CHECK(position(sys.calls, "mount /dev/shm " + flags(MS_NOSUID | MS_NODEV)) >
          position(sys.calls, "mount /dev/pts " + flags(MS_NOSUID | MS_NOEXEC)));
    CHECK(position(sys.calls, "sethostname berth") >= 0);
    CHECK(position(sys.calls, "link_up lo") >= 0);
    CHECK(position(sys.calls, "create /run/resolv.conf") >= 0);
    CHECK(position(sys.calls, "nofile 1048576") >= 0);
    CHECK(position(sys.calls, "mount / " + flags(MS_REMOUNT | MS_BIND | MS_RDONLY)) >= 0);
    // No initramfs: nothing was copied or chrooted.
    CHECK(with_prefix(sys.calls, "copy_tree").empty());
    CHECK(with_prefix(sys.calls, "chroot").empty());
}

TEST_CASE("early boot: /proc is mounted first when /proc/filesystems cannot be read yet") {
    LogCapture quiet;
    struct ProcLater : FakeSys {
        std::optional<std::string> read_file(const std::string& path) override {
            if (path == "/proc/filesystems" && position(calls, "mount /proc " + flags(MS_NOSUID | MS_NODEV | MS_NOEXEC)) < 0)
                return std::nullopt;
            return FakeSys::read_file(path);
        }
    } sys;
    sys.files["/proc/filesystems"] = kFilesystems;
    early_boot(sys);
    auto mounts = with_prefix(sys.calls, "mount ");
    REQUIRE(!mounts.empty());
    CHECK(mounts[0].rfind("/proc ", 0) == 0);
    CHECK(position(sys.calls, "mount /sys/fs/cgroup " + flags(MS_NOSUID | MS_NODEV | MS_NOEXEC)) >= 0);
}

TEST_CASE("early boot: a module that fails to load is logged and the others and the boot go on") {
    LogCapture log;
    FakeSys sys;
    sys.files["/proc/filesystems"] = kFilesystems;
    sys.files["/etc/berth/modules"] = "/lib/modules/a.ko\n/lib/modules/b.ko x=1\n/lib/modules/c.ko\n/lib/modules/d.ko\n";
    sys.module_errors["/lib/modules/b.ko"] = -ENOEXEC;
    sys.module_errors["/lib/modules/d.ko"] = -EEXIST;  // built in or loaded already: fine
    BootSummary summary = early_boot(sys);
    CHECK(summary.modules_loaded == 3);
    CHECK(summary.modules_failed == 1);
    CHECK(with_prefix(sys.calls, "load_module ") ==
          std::vector<std::string>{"/lib/modules/a.ko", "/lib/modules/b.ko x=1", "/lib/modules/c.ko", "/lib/modules/d.ko"});
    CHECK(log.has("ERROR: load module /lib/modules/b.ko: Exec format error"));
    CHECK(position(sys.calls, "sethostname berth") > position(sys.calls, "load_module /lib/modules/d.ko"));
}

TEST_CASE("early boot: sysctl files are applied in name order; a refused key is logged unless it is '-' prefixed") {
    LogCapture log;
    FakeSys sys;
    sys.dirs["/etc/sysctl.d"] = {"10-net.conf", "20-vm.conf", "README"};
    sys.files["/etc/sysctl.d/10-net.conf"] = "net.ipv4.ip_forward = 1\n-kernel.unknown = 7\n";
    sys.files["/etc/sysctl.d/20-vm.conf"] = "vm.overcommit_memory = 9\n";
    sys.files["/etc/sysctl.d/README"] = "not.a.setting = 1\n";
    sys.refused = {"7", "9"};
    apply_sysctl_dir(sys, "/etc/sysctl.d");
    CHECK(with_prefix(sys.calls, "write ") ==
          std::vector<std::string>{"/proc/sys/net/ipv4/ip_forward 1", "/proc/sys/kernel/unknown 7",
                                   "/proc/sys/vm/overcommit_memory 9"});
    CHECK(log.has("ERROR: /etc/sysctl.d/20-vm.conf:1: sysctl vm.overcommit_memory = 9: Invalid argument"));
    CHECK_FALSE(log.has("kernel.unknown"));
    CHECK(log.has("applied 1 sysctl settings"));

    FakeSys none;  // no directory: nothing written, nothing logged as an error
    apply_sysctl_dir(none, "/etc/sysctl.d");
    CHECK(none.calls.empty());
}

TEST_CASE("early boot: hostname from berth.hostname, else /etc/hostname; an invalid one is refused") {
    FakeSys sys;
    sys.files["/etc/hostname"] = "from-image\n";
    set_hostname(sys, {});
    CHECK(sys.hostname == "from-image");
    set_hostname(sys, {{"berth.hostname", "from-cmdline"}});
    CHECK(sys.hostname == "from-cmdline");
    LogCapture log;
    FakeSys bad;
    set_hostname(bad, {{"berth.hostname", "no spaces"}});
    CHECK(bad.calls.empty());
    CHECK(log.has("invalid hostname"));
}

TEST_CASE("initramfs hand-over: the initramfs is bound onto a directory, moved onto / and chrooted into, nothing copied") {
    LogCapture log;
    FakeSys sys;
    sys.types["/"] = RAMFS_MAGIC;
    sys.files["/proc/filesystems"] = kFilesystems;
    early_boot(sys);
    std::vector<std::string> want = {"mount /.berth-root " + flags(MS_BIND), "chdir /.berth-root",
                                     "mount / " + flags(MS_MOVE), "chroot .", "chdir /", "rmdir /.berth-root"};
    long last = -1;
    for (const auto& c : want) {
        long at = position(sys.calls, c);
        INFO(c);
        CHECK(at > last);
        last = at;
    }
    CHECK(position(sys.calls, "mount /proc " + flags(MS_NOSUID | MS_NODEV | MS_NOEXEC)) > last);
    CHECK(with_prefix(sys.calls, "copy_tree / ").empty());
    CHECK(log.has("initramfs bound onto / in place (no copy)"));
    CHECK_FALSE(log.has("handed over to tmpfs"));
}

TEST_CASE("initramfs hand-over: a failing bind or move is logged with errno, undone, and the copy runs instead") {
    LogCapture log;
    FakeSys bind;
    bind.types["/"] = RAMFS_MAGIC;
    bind.files["/proc/filesystems"] = kFilesystems;
    bind.mount_flag_errors[MS_BIND] = -EINVAL;
    bool moved = true;
    CHECK(bind_initramfs_root(bind, moved) == "bind the initramfs on /.berth-root: Invalid argument");
    CHECK_FALSE(moved);
    CHECK(with_prefix(bind.calls, "chroot").empty());

    FakeSys move;
    move.types["/"] = RAMFS_MAGIC;
    move.files["/proc/filesystems"] = kFilesystems;
    move.mount_flag_errors[MS_MOVE] = -EPERM;
    CHECK(bind_initramfs_root(move, moved) == "move the bind onto /: Operation not permitted");
    CHECK_FALSE(moved);
    CHECK(position(move.calls, "umount /.berth-root") > position(move.calls, "mount / " + flags(MS_MOVE)));
    CHECK(with_prefix(move.calls, "chroot").empty());

    FakeSys boot;
    boot.types["/"] = RAMFS_MAGIC;
    boot.files["/proc/filesystems"] = kFilesystems;
    boot.mount_flag_errors[MS_BIND] = -EINVAL;
    early_boot(boot);
    CHECK(log.has("warning: initramfs bind failed (bind the initramfs on /.berth-root: Invalid argument); copying it to a tmpfs instead"));
    CHECK(position(boot.calls, "copy_tree / /.berth-root move") > position(boot.calls, "mount /.berth-root " + flags(MS_BIND)));
    CHECK(log.has("initramfs handed over to tmpfs"));

    // A chroot refused once the bind is on /: no copy on top of it, the boot goes on.
    FakeSys chroot;
    chroot.types["/"] = RAMFS_MAGIC;
    chroot.files["/proc/filesystems"] = kFilesystems;
    chroot.chroot_errors["."] = -EPERM;
    CHECK(bind_initramfs_root(chroot, moved) == "chroot: Operation not permitted");
    CHECK(moved);
    FakeSys chroot_boot;
    chroot_boot.types["/"] = RAMFS_MAGIC;
    chroot_boot.files["/proc/filesystems"] = kFilesystems;
    chroot_boot.chroot_errors["."] = -EPERM;
    early_boot(chroot_boot);
    CHECK(with_prefix(chroot_boot.calls, "copy_tree / ").empty());
    CHECK(log.has("ERROR: initramfs hand-over failed, staying on it: chroot: Operation not permitted"));
    CHECK(position(chroot_boot.calls, "sethostname berth") >= 0);
}

TEST_CASE("initramfs hand-over with BERTH_HANDOVER=copy: tmpfs, copy, move onto /, chroot, in that order") {
    LogCapture log;
    FakeSys sys;
    sys.types["/"] = RAMFS_MAGIC;
    sys.env["BERTH_HANDOVER"] = "copy";
    sys.files["/proc/filesystems"] = kFilesystems;
    early_boot(sys);
    std::vector<std::string> want = {"mount /.berth-root 0", "copy_tree / /.berth-root move", "chdir /.berth-root",
                                     "mount / " + flags(MS_MOVE), "chroot .", "chdir /"};
    long last = -1;
    for (const auto& c : want) {
        long at = position(sys.calls, c);
        INFO(c);
        CHECK(at > last);
        last = at;
    }
    // ... and all of it before the kernel file systems are mounted on the new root.
    CHECK(position(sys.calls, "mount /proc " + flags(MS_NOSUID | MS_NODEV | MS_NOEXEC)) > last);
    CHECK(log.has("initramfs handed over to tmpfs"));
    CHECK(position(sys.calls, "mount /.berth-root " + flags(MS_BIND)) < 0);
}

TEST_CASE("initramfs hand-over: a failing step is named with errno and the boot stays on the initramfs") {
    LogCapture log;
    FakeSys sys;
    sys.types["/"] = TMPFS_MAGIC;
    sys.chroot_errors["."] = -EPERM;
    sys.files["/proc/filesystems"] = kFilesystems;
    CHECK(hand_over_initramfs(sys) == "chroot: Operation not permitted");
    FakeSys boot;
    boot.types["/"] = TMPFS_MAGIC;
    boot.chroot_errors["."] = -EPERM;
    boot.env["BERTH_HANDOVER"] = "copy";
    boot.files["/proc/filesystems"] = kFilesystems;
    early_boot(boot);
    CHECK(log.has("ERROR: initramfs hand-over failed, staying on it: chroot: Operation not permitted"));
    CHECK(position(boot.calls, "sethostname berth") >= 0);
}

TEST_CASE("initramfs hand-over: skipped with BERTH_HANDOVER=0, off an initramfs, or when not PID 1") {
    LogCapture quiet;
    FakeSys asked;
    asked.types["/"] = RAMFS_MAGIC;
    asked.env["BERTH_HANDOVER"] = "0";
    early_boot(asked);
    CHECK(with_prefix(asked.calls, "copy_tree / ").empty());
    CHECK(position(asked.calls, "mount /.berth-root " + flags(MS_BIND)) < 0);
    FakeSys disk;  // the root is not ramfs/tmpfs
    early_boot(disk);
    CHECK(with_prefix(disk.calls, "copy_tree / ").empty());
    FakeSys nested;
    nested.types["/"] = RAMFS_MAGIC;
    nested.pid = 7;
    early_boot(nested);
    CHECK(with_prefix(nested.calls, "copy_tree / ").empty());
}

TEST_CASE("squashfs root: the first disk with the signature, loop and ram devices skipped") {
    LogCapture quiet;
    FakeSys sys;
    sys.dirs["/sys/class/block"] = {"loop0", "ram0", "vda", "vdb"};
    sys.files["/dev/loop0"] = "hsqs";
    sys.files["/dev/ram0"] = "hsqs";
    sys.files["/dev/vda"] = "\x7f" "ELF";
    sys.files["/dev/vdb"] = std::string("hsqs") + std::string(100, 'x');
    CHECK(find_squashfs_root(sys, "", 15000) == "/dev/vdb");
    CHECK(sys.clock == 0);
    CHECK(find_squashfs_root(sys, "/dev/vda", 1000).empty());  // berth.root= without a squashfs
    CHECK(sys.clock >= 1000);
    CHECK(sys.clock < 1100);  // the wait is bounded
}

TEST_CASE("squashfs root: modules first, the disk mounted read-only, the initramfs freed, then moved onto /") {
    LogCapture log;
    FakeSys sys;
    sys.types["/"] = RAMFS_MAGIC;
    sys.files_present = {kSquashfsRootMarker};
    sys.files["/etc/berth/modules"] = "/lib/modules/virtio_blk.ko\n";
    sys.files["/proc/cmdline"] = "console=ttyS0 berth.root=/dev/vdb\n";
    sys.files["/dev/vdb"] = "hsqs";
    sys.files["/proc/filesystems"] = kFilesystems;
    early_boot(sys);
    std::vector<std::string> want = {"load_module /lib/modules/virtio_blk.ko", "mount /.berth-root " + flags(MS_RDONLY),
                                     "umount /proc", "remove_same_fs /", "chdir /.berth-root",
                                     "mount / " + flags(MS_MOVE), "chroot ."};
    long last = -1;
    for (const auto& c : want) {
        long at = position(sys.calls, c);
        INFO(c);
        CHECK(at > last);
        last = at;
    }
    CHECK(log.has("root is the squashfs on /dev/vdb (read-only)"));

    LogCapture log2;
    FakeSys missing;
    missing.types["/"] = RAMFS_MAGIC;
    missing.files_present = {kSquashfsRootMarker};
    missing.files["/proc/filesystems"] = kFilesystems;
    early_boot(missing);
    CHECK(log2.has("squashfs root: no disk with a squashfs signature appeared within 15 s; staying on the initramfs"));
    CHECK(with_prefix(missing.calls, "remove_same_fs").empty());  // the initramfs is kept
    CHECK(with_prefix(missing.calls, "chroot").empty());
    CHECK(position(missing.calls, "sethostname berth") >= 0);
}

TEST_CASE("early boot: /var keeps what the image put there (tmpfs mounted aside, copied, moved in)") {
    LogCapture quiet;
    FakeSys sys;
    sys.files["/proc/filesystems"] = kFilesystems;
    sys.dirs["/var"] = {"lib"};
    sys.dirs["/run"] = {"stale"};  // /run is never copied
    early_boot(sys);
    std::vector<std::string> want = {"mount /run/.berth-aside " + flags(MS_NOSUID | MS_NODEV),
                                     "copy_tree /var /run/.berth-aside", "mount /var " + flags(MS_MOVE),
                                     "rmdir /run/.berth-aside"};
    long last = -1;
    for (const auto& c : want) {
        long at = position(sys.calls, c);
        INFO(c);
        CHECK(at > last);
        last = at;
    }
    CHECK(position(sys.calls, "copy_tree /run /run/.berth-aside") < 0);
    CHECK(position(sys.calls, "mount /tmp " + flags(MS_NOSUID | MS_NODEV)) >= 0);
}
