#include <sys/mount.h>

#include <catch2/catch.hpp>

#include "runtime/mount_options.hpp"
#include "runtime/mounts.hpp"

using namespace berth::runtime;

TEST_CASE("flags, their negations and the data string") {
    auto o = parse_mount_options({"nosuid", "strictatime", "mode=755", "size=65536k"});
    CHECK(o.flags == (MS_NOSUID | MS_STRICTATIME));
    CHECK(o.atime_set);
    CHECK(o.data == "mode=755,size=65536k");
    CHECK(o.propagation == 0);
    CHECK_FALSE(o.is_bind());

    o = parse_mount_options({"ro", "nodev", "noexec", "rw", "relatime"});
    CHECK(o.flags == (MS_NODEV | MS_NOEXEC | MS_RELATIME));
    CHECK(o.data.empty());

    o = parse_mount_options({"nosuid", "suid", "defaults"});
    CHECK(o.flags == 0);
    CHECK_FALSE(o.atime_set);
}

TEST_CASE("bind, rbind and propagation") {
    auto o = parse_mount_options({"rbind", "ro", "rslave"});
    CHECK(o.is_bind());
    CHECK(o.flags == (MS_BIND | MS_REC | MS_RDONLY));
    CHECK(o.propagation == (MS_SLAVE | MS_REC));

    o = parse_mount_options({"bind", "private"});
    CHECK(o.flags == MS_BIND);
    CHECK(o.propagation == MS_PRIVATE);
}

TEST_CASE("filesystem options pass through, unsupported runc options do not") {
    auto o = parse_mount_options({"newinstance", "ptmxmode=0666", "mode=0620", "gid=5", "tmpcopyup"});
    CHECK(o.data == "newinstance,ptmxmode=0666,mode=0620,gid=5");
}

TEST_CASE("rootfs propagation names") {
    CHECK(propagation_flags("") == (MS_PRIVATE | MS_REC));
    CHECK(propagation_flags("rprivate") == (MS_PRIVATE | MS_REC));
    CHECK(propagation_flags("shared") == MS_SHARED);
    CHECK(propagation_flags("runbindable") == (MS_UNBINDABLE | MS_REC));
    CHECK(propagation_flags("bogus") == 0);
}

TEST_CASE("idmap options never reach the mount data; the mount label does, for the right types") {
    auto o = parse_mount_options({"rbind", "ridmap", "idmap", "idmap=uids=0-1-1;gids=0-1-1", "mode=755"});
    CHECK(o.data == "mode=755");
    CHECK(o.flags == (MS_BIND | MS_REC));
    CHECK(with_mount_label("mode=755", "tmpfs", "system_u:object_r:c_t:s0") ==
          "mode=755,context=\"system_u:object_r:c_t:s0\"");
    CHECK(with_mount_label("", "mqueue", "l") == "context=\"l\"");
    CHECK(with_mount_label("x", "proc", "l") == "x");
    CHECK(with_mount_label("x", "tmpfs", "") == "x");
}
