// The user data reader's layout under the config directory, as LinuxKit's
// metadata package writes it, and what it refuses.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "metadata/user_data.hpp"
#include "../temp_dir.hpp"

namespace stdfs = std::filesystem;
using berth::metadata::Limits;
using berth::metadata::safe_entry_name;
using berth::metadata::write_user_data;

namespace {

struct Dirs {
    berth::test::TempDir tmp;
    stdfs::path base{tmp.path()};
    stdfs::path config{base / "config"};
    Dirs() { stdfs::create_directory(config); }
};

std::string slurp(const stdfs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

mode_t mode_of(const stdfs::path& p) {
    struct stat st {};
    REQUIRE(lstat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

bool mentions(const std::vector<std::string>& lines, const std::string& what) {
    for (const auto& l : lines)
        if (l.find(what) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("plain user data is kept as userdata only", "[metadata]") {
    Dirs d;
    auto r = write_user_data("hello {not json", d.config.string());
    CHECK_FALSE(r.json);
    CHECK(r.errors.empty());
    CHECK(slurp(d.config / "userdata") == "hello {not json");
    CHECK(std::distance(stdfs::directory_iterator(d.config), stdfs::directory_iterator()) == 1);
    // A JSON value that is not an object is not expanded either.
    CHECK_FALSE(write_user_data("[1, 2]", d.config.string()).json);
}

TEST_CASE("JSON user data becomes directories and files with their perms", "[metadata]") {
    Dirs d;
    std::string data = R"({
      "ssh": {"entries": {"sshd_config": {"perm": "0600", "content": "PermitRootLogin no\n"}}},
      "app": {"perm": "0750", "entries": {
          "name": {"content": "berth"},
          "conf.d": {"entries": {"a.conf": {"perm": "444", "content": "x=1"}}}}},
      "hostname": {"content": "vm1"}
    })";
    auto r = write_user_data(data, d.config.string());
    CHECK(r.json);
    CHECK(r.errors.empty());
    CHECK(slurp(d.config / "userdata") == data);
    CHECK(slurp(d.config / "ssh/sshd_config") == "PermitRootLogin no\n");
    CHECK(mode_of(d.config / "ssh/sshd_config") == 0600);
    CHECK(mode_of(d.config / "ssh") == 0755);
    CHECK(mode_of(d.config / "app") == 0750);
    CHECK(slurp(d.config / "app/name") == "berth");
    CHECK(mode_of(d.config / "app/name") == 0644);
    CHECK(slurp(d.config / "app/conf.d/a.conf") == "x=1");
    CHECK(mode_of(d.config / "app/conf.d/a.conf") == 0444);
    CHECK(slurp(d.config / "hostname") == "vm1");
    CHECK(r.written.size() == 7);
}

TEST_CASE("LinuxKit's earlier layout: a key of files without `entries`", "[metadata]") {
    Dirs d;
    auto r = write_user_data(R"({"foo": {"bar": {"perm": "0600", "content": "foobar"}, "baz": {"content": "b"}}})",
                             d.config.string());
    CHECK(r.errors.empty());
    CHECK(slurp(d.config / "foo/bar") == "foobar");
    CHECK(mode_of(d.config / "foo/bar") == 0600);
    CHECK(slurp(d.config / "foo/baz") == "b");
}

TEST_CASE("unsafe names are reported and skipped; the rest is written inside the directory", "[metadata]") {
    Dirs d;
    std::string data = R"({
      "..": {"entries": {"escaped": {"content": "x"}}},
      "a/b": {"entries": {}},
      "ok": {"entries": {
          "..": {"content": "up"},
          ".": {"content": "dot"},
          "": {"content": "empty"},
          "x/../../y": {"content": "slash"},
          "good": {"content": "yes"}}},
      "userdata": {"content": "overwrite"}
    })";
    auto r = write_user_data(data, d.config.string());
    CHECK(slurp(d.config / "ok/good") == "yes");
    CHECK(slurp(d.config / "userdata") == data);
    CHECK_FALSE(stdfs::exists(d.base / "escaped"));
    CHECK_FALSE(stdfs::exists(d.base / "y"));
    CHECK_FALSE(stdfs::exists(d.config / "a"));
    REQUIRE(r.errors.size() == 7);
    CHECK(mentions(r.errors, "user data entry `..`: the name is not one path component"));
    CHECK(mentions(r.errors, "`a/b`"));
    CHECK(mentions(r.errors, "`ok/..`"));
    CHECK(mentions(r.errors, "`ok/x/../../y`"));
    CHECK(mentions(r.errors, "`userdata`"));
}

TEST_CASE("bad perms, wrong types and a symlink in the way are reported; other entries written", "[metadata]") {
    Dirs d;
    stdfs::create_directory(d.config / "dir");
    std::ofstream(d.base / "outside") << "keep";
    stdfs::create_symlink(d.base / "outside", d.config / "dir/link");
    auto r = write_user_data(R"({"dir": {"entries": {
        "link": {"content": "through the link"},
        "p1": {"perm": "0abc", "content": "x"},
        "p2": {"perm": "17777", "content": "x"},
        "p3": {"perm": 420, "content": "x"},
        "c": {"content": 5},
        "both": {"content": "x", "entries": {}},
        "n": "text",
        "e": {"entries": ["x"]},
        "fine": {"content": "ok"}}}})",
                             d.config.string());
    CHECK(slurp(d.base / "outside") == "keep");
    CHECK(slurp(d.config / "dir/fine") == "ok");
    CHECK(r.errors.size() == 8);
    CHECK(mentions(r.errors, "`dir/link`: open"));
    CHECK(mentions(r.errors, "`dir/p1`: `perm` \"0abc\" is not an octal mode"));
    CHECK(mentions(r.errors, "`dir/p2`: `perm` \"17777\" is over 07777"));
    CHECK(mentions(r.errors, "`dir/p3`: `perm` must be a string"));
    CHECK(mentions(r.errors, "`dir/c`: `content` must be a string"));
    CHECK(mentions(r.errors, "`dir/both`: neither a file"));
    CHECK(mentions(r.errors, "`dir/n`: neither a file"));
    CHECK(mentions(r.errors, "`dir/e`: `entries` must be an object"));
}

TEST_CASE("the limits bound what user data can make", "[metadata]") {
    Dirs d;
    Limits small;
    small.max_entries = 3;
    small.max_depth = 2;
    auto r = write_user_data(R"({"a": {"entries": {"b": {"entries": {"c": {"entries": {}}}}, "f": {"content": "1"},
                                 "g": {"content": "2"}}}})",
                             d.config.string(), small);
    CHECK(mentions(r.errors, "`a/b/c`: deeper than 2 directory levels"));
    CHECK(mentions(r.errors, "over 3 files and directories"));
    CHECK(r.written.size() == 3);

    small.max_user_data = 8;
    CHECK_THROWS_WITH(write_user_data("123456789", d.config.string(), small),
                      Catch::Contains("9 bytes is over the limit of 8 bytes"));
}

TEST_CASE("an entry name is exactly one path component", "[metadata]") {
    CHECK(safe_entry_name("sshd_config"));
    CHECK(safe_entry_name("..."));
    CHECK(safe_entry_name(".hidden"));
    CHECK_FALSE(safe_entry_name(""));
    CHECK_FALSE(safe_entry_name("."));
    CHECK_FALSE(safe_entry_name(".."));
    CHECK_FALSE(safe_entry_name("a/b"));
    CHECK_FALSE(safe_entry_name(std::string("a\0b", 3)));
    CHECK_FALSE(safe_entry_name(std::string(256, 'x')));
}
