// The verified root: the command line keys, the verity table string, the
// device-mapper ioctl sequence and a failure at each step, and the squashfs
// root refused (never mounted unverified) whenever verity cannot be set up.
#include <linux/dm-ioctl.h>
#include <sys/ioctl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>

#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "common/log.hpp"
#include "fake_sys.hpp"
#include "init/boot_files.hpp"
#include "init/dm_verity.hpp"
#include "init/early_boot.hpp"
#include "init/handover.hpp"
#include "log_capture.hpp"

using namespace berth::init;
using testing::FakeSys;
using testing::LogCapture;

namespace {


const std::string kRoot = "4f2e1b0c9a8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f";
const std::string kSalt = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

std::string verity_cmdline(const std::string& root = kRoot) {
    return "console=ttyS0 berth.verity.roothash=" + root + " berth.verity.salt=" + kSalt +
           " berth.verity.datablocks=1000 berth.verity.hashoffset=4096000";
}

std::vector<std::string> dm_calls(const FakeSys& sys) {
    std::vector<std::string> out;
    for (const auto& c : sys.calls)
        if (c.rfind("dm_ioctl ", 0) == 0) out.push_back(c.substr(9));
    return out;
}

// A squashfs boot on /dev/vdb with this command line.
FakeSys squashfs_sys(const std::string& cmdline) {
    FakeSys sys;
    sys.types["/"] = RAMFS_MAGIC;
    sys.files_present = {kSquashfsRootMarker};
    sys.files["/proc/cmdline"] = cmdline + "\n";
    sys.files["/dev/vdb"] = "hsqs";
    sys.dirs["/sys/class/block"] = {"vdb"};
    return sys;
}

}  // namespace

TEST_CASE("verity: the command line keys, each one checked") {
    std::string err;
    auto p = verity_params(parse_cmdline(verity_cmdline()), err);
    REQUIRE(p);
    CHECK(p->root_hash == kRoot);
    CHECK(p->salt == kSalt);
    CHECK(p->data_blocks == 1000);
    CHECK(p->hash_offset == 4096000);
    CHECK(verity_requested(parse_cmdline(verity_cmdline())));
    CHECK_FALSE(verity_requested(parse_cmdline("console=ttyS0 berth.root=/dev/vda berth.verityx=1")));
    CHECK(verity_requested(parse_cmdline("berth.verity.salt=-")));  // any key asks for verity

    auto refused = [&](const std::string& from, const std::string& to, const std::string& why) {
        std::string line = verity_cmdline();
        line.replace(line.find(from), from.size(), to);
        std::string e;
        INFO(line);
        CHECK_FALSE(verity_params(parse_cmdline(line), e));
        CHECK(e.find(why) != std::string::npos);
    };
    refused("roothash=" + kRoot, "roothash=" + kRoot.substr(1), "roothash= must be 64");
    refused("roothash=" + kRoot, "roothash=" + std::string(64, 'G'), "roothash= must be 64");
    refused(" berth.verity.roothash=" + kRoot, "", "roothash= is missing");
    refused("salt=" + kSalt, "salt=abc", "salt= must be hex");
    refused("datablocks=1000", "datablocks=0", "datablocks= must be a positive number");
    refused("datablocks=1000", "datablocks=12x", "datablocks= must be a positive number");
    refused("hashoffset=4096000", "hashoffset=4096001", "hashoffset= must be a multiple of 4096");
    refused("hashoffset=4096000", "hashoffset=4091904", "at or after the data blocks");  // inside the data
    refused(" berth.verity.hashoffset=4096000", "", "hashoffset= is missing");
}

TEST_CASE("verity: the table is format 1, one device for data and hash, the tree after the superblock") {
    VerityParams p{kRoot, kSalt, 1000, 4096000};
    CHECK(verity_table(p, "/dev/vda") ==
          "1 /dev/vda /dev/vda 4096 4096 1000 1001 sha256 " + kRoot + " " + kSalt);
    p.salt = "-";
    CHECK(verity_table(p, "/dev/vdb") == "1 /dev/vdb /dev/vdb 4096 4096 1000 1001 sha256 " + kRoot + " -");
}

TEST_CASE("verity: create, load a read-only verity table, resume, then the dm node") {
    FakeSys sys;
    sys.dm_minor = 3;
    std::string err;
    VerityParams p{kRoot, kSalt, 1000, 4096000};
    CHECK(setup_verity(sys, "/dev/vda", p, err) == "/dev/dm-3");
    CHECK(err.empty());
    CHECK(dm_calls(sys) == std::vector<std::string>{"DM_DEV_CREATE berth-root", "DM_TABLE_LOAD berth-root",
                                                    "DM_DEV_SUSPEND berth-root"});
    CHECK(sys.dm_target_type == "verity");
    CHECK(sys.dm_length == 8000);  // 1000 blocks of 4 KiB in 512-byte sectors
    CHECK(sys.dm_table == verity_table(p, "/dev/vda"));
    CHECK((sys.dm_flags & DM_READONLY_FLAG));
}

TEST_CASE("verity: a failure at each ioctl is reported with its step and errno, the half-made device removed") {
    VerityParams p{kRoot, kSalt, 1000, 4096000};
    struct Case {
        unsigned long request;
        int error;
        std::string message;
        std::vector<std::string> calls;
    };
    for (const Case& c : {
             Case{DM_DEV_CREATE, -ENOENT, "DM_DEV_CREATE berth-root on /dev/mapper/control: No such file or directory",
                  {"DM_DEV_CREATE berth-root"}},
             Case{DM_TABLE_LOAD, -EINVAL, "DM_TABLE_LOAD (verity 1 /dev/vda /dev/vda 4096 4096 1000 1001 sha256 ",
                  {"DM_DEV_CREATE berth-root", "DM_TABLE_LOAD berth-root", "DM_DEV_REMOVE berth-root"}},
             Case{DM_DEV_SUSPEND, -EIO, "DM_DEV_SUSPEND (resume) on /dev/mapper/control: Input/output error",
                  {"DM_DEV_CREATE berth-root", "DM_TABLE_LOAD berth-root", "DM_DEV_SUSPEND berth-root",
                   "DM_DEV_REMOVE berth-root"}},
         }) {
        FakeSys sys;
        sys.dm_errors[c.request] = c.error;
        std::string err;
        INFO(c.message);
        CHECK(setup_verity(sys, "/dev/vda", p, err).empty());
        CHECK(err.find(c.message) != std::string::npos);
        CHECK(dm_calls(sys) == c.calls);
    }
    SECTION("the node never appears: bounded wait, then refused") {
        struct NoNode : FakeSys {
            bool exists(const std::string& path) override { return path != "/dev/dm-7" && FakeSys::exists(path); }
        } nonode;
        nonode.dm_minor = 7;
        std::string err;
        CHECK(setup_verity(nonode, "/dev/vda", p, err).empty());
        CHECK(err == "/dev/dm-7 did not appear within 2 s after DM_DEV_SUSPEND");
        CHECK(nonode.clock >= 2000);
        CHECK(nonode.clock < 2100);
        CHECK(dm_calls(nonode).back() == "DM_DEV_REMOVE berth-root");
    }
}

TEST_CASE("verified root: the squashfs is mounted from the dm node, never from the disk") {
    LogCapture log;
    FakeSys sys = squashfs_sys(verity_cmdline());
    std::string err = switch_to_squashfs_root(sys);
    CHECK(err.empty());
    CHECK(sys.mount_sources["/.berth-root"] == "/dev/dm-0");
    CHECK(sys.dm_table == verity_table(VerityParams{kRoot, kSalt, 1000, 4096000}, "/dev/vdb"));
    CHECK(log.has("verified root: /dev/dm-0 maps /dev/vdb (dm-verity, sha256, root hash " + kRoot + ")"));
    CHECK(log.has("root is the squashfs on /dev/dm-0 (read-only)"));
}

TEST_CASE("verified root: no verity possible, a bad key or a mount that fails = the root refused, the disk never mounted") {
    auto refused = [](FakeSys& sys, const std::string& why) {
        std::string err = switch_to_squashfs_root(sys);
        INFO(err);
        CHECK(err.find(why) != std::string::npos);
        CHECK(sys.mount_sources.count("/.berth-root") == (why.find("mount squashfs") != std::string::npos ? 1u : 0u));
        if (sys.mount_sources.count("/.berth-root")) CHECK(sys.mount_sources["/.berth-root"] == "/dev/dm-0");
        CHECK(std::find(sys.calls.begin(), sys.calls.end(), "remove_same_fs /") == sys.calls.end());
        CHECK(std::find(sys.calls.begin(), sys.calls.end(), "chroot .") == sys.calls.end());
    };
    SECTION("no device mapper (the modules are missing)") {
        FakeSys sys = squashfs_sys(verity_cmdline());
        sys.dm_errors[DM_DEV_CREATE] = -ENOENT;
        refused(sys, "verified root refused, /dev/vdb not mounted: DM_DEV_CREATE berth-root");
    }
    SECTION("the table is refused") {
        FakeSys sys = squashfs_sys(verity_cmdline());
        sys.dm_errors[DM_TABLE_LOAD] = -EINVAL;
        refused(sys, "verified root refused, /dev/vdb not mounted: DM_TABLE_LOAD");
    }
    SECTION("a malformed root hash") {
        FakeSys sys = squashfs_sys(verity_cmdline("1234"));
        refused(sys, "verified root refused, /dev/vdb not mounted: berth.verity.roothash= must be 64");
        CHECK(dm_calls(sys).empty());
    }
    SECTION("a wrong root hash: the first read fails with EIO") {
        FakeSys sys = squashfs_sys(verity_cmdline());
        sys.mount_errors["/.berth-root"] = -EIO;
        refused(sys, "verified root refused (does the root hash match the disk?): mount squashfs /dev/dm-0: Input/output error");
    }
}

TEST_CASE("verified root refused: early boot throws after the kernel mounts (the emergency path), a plain squashfs failure does not") {
    LogCapture log;
    FakeSys sys = squashfs_sys(verity_cmdline());
    sys.dm_errors[DM_DEV_CREATE] = -ENOENT;
    sys.files["/proc/filesystems"] = "nodev\tproc\nnodev\tsysfs\nnodev\tdevtmpfs\n";
    try {
        early_boot(sys);
        FAIL("early_boot went on with a refused verified root");
    } catch (const berth::Error& e) {
        CHECK(std::string(e.what()).find("squashfs root: verified root refused, /dev/vdb not mounted: DM_DEV_CREATE") == 0);
        CHECK(e.code() == EIO);
    }
    CHECK(std::find(sys.calls.begin(), sys.calls.end(), "remove_same_fs /") == sys.calls.end());
    CHECK(std::find(sys.calls.begin(), sys.calls.end(), "ensure_console") != sys.calls.end());

    FakeSys plain = squashfs_sys("console=ttyS0");
    plain.files.erase("/dev/vdb");  // no squashfs found, no verity asked: the boot goes on
    plain.files["/proc/filesystems"] = "nodev\tproc\n";
    CHECK_NOTHROW(early_boot(plain));
}
