// common/mountinfo.hpp: the one parser of the kernel's mount table.
#include <catch2/catch.hpp>

#include "common/mountinfo.hpp"

using namespace berth;

TEST_CASE("mountinfo: fields on both sides of the separator, optional fields skipped") {
    auto m = mountinfo::parse(
        "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue\n"
        "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
    REQUIRE(m.size() == 2);
    CHECK(m[0].root == "/mnt1");
    CHECK(m[0].mount_point == "/mnt2");
    CHECK(m[0].options == "rw,noatime");
    CHECK(m[0].fs_type == "ext3");
    CHECK(m[0].source == "/dev/root");
    CHECK(m[0].super_options == "rw,errors=continue");
    CHECK(m[1].fs_type == "cgroup2");
    CHECK(m[1].mount_point == "/sys/fs/cgroup");
}

TEST_CASE("mountinfo: the kernel's octal escapes are decoded in paths and the source") {
    auto m = mountinfo::parse("24 22 0:6 /a\\134b /var/lib/my\\040containers rw - fuse.x my\\011src rw\n");
    REQUIRE(m.size() == 1);
    CHECK(m[0].root == "/a\\b");
    CHECK(m[0].mount_point == "/var/lib/my containers");
    CHECK(m[0].source == "my\tsrc");
    // Not an escape: kept as written, never an exception.
    CHECK(mountinfo::decode_escapes("a\\9zz\\04") == "a\\9zz\\04");
    CHECK(mountinfo::decode_escapes("\\") == "\\");
    CHECK(mountinfo::decode_escapes("end\\012") == "end\n");
}

TEST_CASE("mountinfo: lines without the separator or with too few fields are skipped") {
    auto m = mountinfo::parse("garbage\n1 2 3 - tmpfs\n\n25 22 0:7 / /run rw - tmpfs tmpfs rw\n25 22 0:7 / /x rw - tmpfs");
    REQUIRE(m.size() == 1);
    CHECK(m[0].mount_point == "/run");
}
