// The A/B slots seen from the machine: the booted slot, partitions found by
// GPT name, the boot entries committed (blessed) or marked out of tries on a
// real directory, and the boot assessment's decisions.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/fs.hpp"
#include "fake_sys.hpp"
#include "init/ab_slots.hpp"
#include "init/boot_files.hpp"
#include "init/handover.hpp"
#include "../temp_dir.hpp"

using namespace berth::init;
using testing::FakeSys;

namespace {

struct TempEsp {
    berth::test::TempDir tmp;
    const std::string dir{tmp.path()};
    TempEsp() { berth::fs::mkdir_p(dir + "/EFI/Linux"); }
    void add(const std::string& f) { berth::fs::write_file(dir + "/EFI/Linux/" + f, "MZ"); }
    std::vector<std::string> names() const { return berth::fs::list_dir(dir + "/EFI/Linux"); }
};

}  // namespace

TEST_CASE("berth.slot names the booted slot; anything else is no A/B boot") {
    CHECK(booted_slot(parse_cmdline("console=ttyS0 berth.slot=b")) == 'b');
    CHECK(booted_slot(parse_cmdline("berth.slot=a quiet")) == 'a');
    CHECK_FALSE(booted_slot(parse_cmdline("berth.slot=c")));
    CHECK_FALSE(booted_slot(parse_cmdline("berth.slot=")));
    CHECK_FALSE(booted_slot(parse_cmdline("quiet")));
    CHECK(other_slot('a') == 'b');
    CHECK(other_slot('b') == 'a');
}

TEST_CASE("a partition is found by the PARTNAME the kernel reports in its uevent") {
    FakeSys sys;
    sys.dirs["/sys/class/block"] = {"vda", "vda1", "vda2", "vda3"};
    sys.files["/sys/class/block/vda/uevent"] = "MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n";
    sys.files["/sys/class/block/vda1/uevent"] = "DEVNAME=vda1\nPARTN=1\nPARTNAME=BERTH-ESP\n";
    sys.files["/sys/class/block/vda2/uevent"] = "DEVNAME=vda2\nPARTN=2\nPARTNAME=berth-root-a\n";
    sys.files["/sys/class/block/vda3/uevent"] = "DEVNAME=vda3\nPARTN=3\nPARTNAME=berth-root-b\n";
    CHECK(find_partition_by_name(sys, "berth-root-b") == "/dev/vda3");
    CHECK(find_partition_by_name(sys, "BERTH-ESP") == "/dev/vda1");
    // A prefix is not a match.
    CHECK(find_partition_by_name(sys, "berth-root") == "");
    CHECK(find_partition_by_name(sys, "berth-data") == "");
}

TEST_CASE("the squashfs root of slot b is the partition named berth-root-b") {
    FakeSys sys;
    sys.dirs["/sys/class/block"] = {"vda", "vda2", "vda3"};
    sys.files["/sys/class/block/vda2/uevent"] = "PARTNAME=berth-root-a\n";
    sys.files["/sys/class/block/vda3/uevent"] = "PARTNAME=berth-root-b\n";
    std::string squashfs = std::string("hsqs") + std::string(1020, '\0');
    sys.files["/dev/vda2"] = squashfs;
    sys.files["/dev/vda3"] = squashfs;
    CHECK(find_squashfs_root(sys, "PARTLABEL=berth-root-b", 100) == "/dev/vda3");
    // A slot partition without a squashfs (a blank slot b) is not a root.
    sys.files["/dev/vda3"] = std::string(1024, '\0');
    CHECK(find_squashfs_root(sys, "PARTLABEL=berth-root-b", 100) == "");
}

TEST_CASE("blessing renames the counting entry of the slot, and only that one") {
    TempEsp esp;
    esp.add("berth-1-a.efi");
    esp.add("berth-2-b+0-1.efi");
    std::string note;
    REQUIRE(bless_entry(esp.dir, 'b', &note) == "");
    CHECK(note == "berth-2-b+0-1.efi -> berth-2-b.efi");
    CHECK(esp.names() == std::vector<std::string>{"berth-1-a.efi", "berth-2-b.efi"});
    // Committed already: nothing changes.
    REQUIRE(bless_entry(esp.dir, 'b', &note) == "");
    CHECK(note == "already committed (berth-2-b.efi)");
    CHECK(esp.names() == std::vector<std::string>{"berth-1-a.efi", "berth-2-b.efi"});
    // Files that are not berth's entries are left alone; a slot without an entry is an error.
    TempEsp other;
    other.add("debian.efi");
    other.add("berth-1-a.conf");  // a type #1 name: not one of berth's entries
    CHECK(bless_entry(other.dir, 'a', nullptr).find("no boot entry for slot a") == 0);
    CHECK(other.names() == std::vector<std::string>{"berth-1-a.conf", "debian.efi"});
}

TEST_CASE("rollback marks the running slot's entry out of tries") {
    TempEsp esp;
    esp.add("berth-1-a.efi");
    esp.add("berth-2-b.efi");
    REQUIRE(exhaust_entry(esp.dir, 'b') == "");
    CHECK(esp.names() == std::vector<std::string>{"berth-1-a.efi", "berth-2-b+0-1.efi"});
    auto entries = list_boot_entries(esp.dir);
    REQUIRE(entries.size() == 2);
    CHECK(entries[1].name.tries_left == 0);
}
