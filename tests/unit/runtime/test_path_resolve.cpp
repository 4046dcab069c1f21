#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "runtime/path_resolve.hpp"
#include "../temp_dir.hpp"

using namespace berth::runtime;

namespace {
struct TempRoot {
    berth::test::TempDir tmp;
    const std::string dir{tmp.path()};
    void link(const std::string& target, const std::string& at) {
        REQUIRE(symlink(target.c_str(), (dir + at).c_str()) == 0);
    }
};
}  // namespace

TEST_CASE("plain and missing paths resolve under the root") {
    TempRoot r;
    berth::fs::mkdir_p(r.dir + "/etc");
    CHECK(resolve_in_root(r.dir, "/etc") == r.dir + "/etc");
    CHECK(resolve_in_root(r.dir, "/etc/missing/deeper") == r.dir + "/etc/missing/deeper");
    CHECK(resolve_in_root(r.dir, "/") == r.dir);
    CHECK(resolve_in_root(r.dir, "/./etc//.") == r.dir + "/etc");
}

TEST_CASE("symlinks and .. cannot leave the root") {
    TempRoot r;
    berth::fs::mkdir_p(r.dir + "/real/dir");
    r.link("/", "/abs-root");
    r.link("/etc", "/abs-etc");
    r.link("../../../../..", "/up");
    r.link("real/dir", "/rel");
    r.link("/real", "/real/dir/back");
    CHECK(resolve_in_root(r.dir, "/abs-root/proc") == r.dir + "/proc");
    CHECK(resolve_in_root(r.dir, "/abs-etc/passwd") == r.dir + "/etc/passwd");
    CHECK(resolve_in_root(r.dir, "/up/tmp/x") == r.dir + "/tmp/x");
    CHECK(resolve_in_root(r.dir, "/../../etc") == r.dir + "/etc");
    CHECK(resolve_in_root(r.dir, "/rel/file") == r.dir + "/real/dir/file");
    CHECK(resolve_in_root(r.dir, "/rel/back/dir") == r.dir + "/real/dir");
}

TEST_CASE("symlink loops are reported") {
    TempRoot r;
    r.link("/b", "/a");
    r.link("/a", "/b");
    try {
        resolve_in_root(r.dir, "/a/x");
        FAIL("no error");
    } catch (const berth::Error& e) {
        CHECK(e.code() == ELOOP);
    }
}

TEST_CASE("mount points are created as directories or files") {
    TempRoot r;
    create_mount_point(r.dir + "/a/b/c", false);
    CHECK(berth::fs::is_dir(r.dir + "/a/b/c"));
    create_mount_point(r.dir + "/x/y/file", true);
    struct stat st;
    REQUIRE(stat((r.dir + "/x/y/file").c_str(), &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    create_mount_point(r.dir + "/x/y/file", true);  // existing target is fine
    create_mount_point(r.dir + "/a/b", true);       // existing directory too
}

// mkdir_p makes the leaf first and its parents only when one is missing (a
// mount target's or a state root's parents usually exist: one mkdir then).
TEST_CASE("mkdir_p makes missing parents, accepts existing directories, refuses files") {
    TempRoot r;
    berth::fs::mkdir_p(r.dir + "/a/b//c/");
    CHECK(berth::fs::is_dir(r.dir + "/a/b/c"));
    berth::fs::mkdir_p(r.dir + "/a/b/c");  // exists: no error
    berth::fs::mkdir_p(r.dir + "/a/b/d");
    CHECK(berth::fs::is_dir(r.dir + "/a/b/d"));
    berth::fs::write_file(r.dir + "/a/file", "x");
    CHECK_THROWS_AS(berth::fs::mkdir_p(r.dir + "/a/file"), berth::Error);
    CHECK_THROWS_AS(berth::fs::mkdir_p(r.dir + "/a/file/below"), berth::Error);
    r.link("a/b", "/via-link");
    berth::fs::mkdir_p(r.dir + "/via-link/e");
    CHECK(berth::fs::is_dir(r.dir + "/a/b/e"));
}
