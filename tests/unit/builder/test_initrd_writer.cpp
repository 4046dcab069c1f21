#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>

#include "builder/initrd_writer.hpp"
#include "builder/process.hpp"
#include "common/fs.hpp"
#include "test_util.hpp"

using namespace berth;
using namespace berth::builder;
using Catch::Matchers::Contains;

namespace {

struct ReadEntry {
    std::string path;
    mode_t type;
    unsigned perm;
    std::int64_t uid, gid, mtime, ino, nlink, size;
    std::string data;
    std::string symlink;
};

std::vector<ReadEntry> read_archive(const std::string& path) {
    std::vector<ReadEntry> out;
    struct archive* a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_cpio(a);
    REQUIRE(archive_read_open_filename(a, path.c_str(), 10240) == ARCHIVE_OK);
    struct archive_entry* e;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        ReadEntry r;
        r.path = archive_entry_pathname(e);
        r.type = archive_entry_filetype(e);
        r.perm = archive_entry_perm(e);
        r.uid = archive_entry_uid(e);
        r.gid = archive_entry_gid(e);
        r.mtime = archive_entry_mtime(e);
        r.ino = archive_entry_ino64(e);
        r.nlink = archive_entry_nlink(e);
        r.size = archive_entry_size(e);
        if (archive_entry_symlink(e)) r.symlink = archive_entry_symlink(e);
        char buf[4096];
        la_ssize_t n;
        while ((n = archive_read_data(a, buf, sizeof buf)) > 0) r.data.append(buf, size_t(n));
        out.push_back(r);
    }
    archive_read_free(a);
    return out;
}

// A tree with every kind of entry, including a hard-link pair from the host.
Tree sample_tree(const test::TempDir& tmp) {
    fs::mkdir_p(tmp / "src/sub");
    fs::write_file(tmp / "src/hello", "hello\n", 0755);
    fs::write_file(tmp / "src/sub/one", "linked data", 0644);
    REQUIRE(::link((tmp / "src/sub/one").c_str(), (tmp / "src/sub/two").c_str()) == 0);
    REQUIRE(::symlink("hello", (tmp / "src/link").c_str()) == 0);
    Tree t;
    t.add_host_tree("root", tmp / "src");
    t.add_bytes("etc/hostname", "berth\n", 0644);
    t.add_bytes("etc/owned", "x", 0600, 33, 34);
    t.add_directory("tmp", 01777);
    t.add_symlink("bin/sh", "/bin/busybox");
    t.add_char_device("dev/console", 5, 1);
    return t;
}

}  // namespace

TEST_CASE("cpio: entries are sorted with deterministic metadata and content", "[builder][cpio]") {
    test::TempDir tmp;
    Tree t = sample_tree(tmp);
    CpioOptions o;
    o.mtime = 1700000000;
    ArchiveStats st = write_cpio(t, tmp / "out.img", o);
    CHECK(st.entries == t.size());

    auto entries = read_archive(tmp / "out.img");
    std::vector<std::string> paths;
    for (const auto& e : entries) paths.push_back(e.path);
    CHECK(paths == std::vector<std::string>{"bin", "bin/sh", "dev", "dev/console", "etc", "etc/hostname",
                                            "etc/owned", "root", "root/hello", "root/link", "root/sub",
                                            "root/sub/one", "root/sub/two", "tmp"});
    std::map<std::string, ReadEntry> by;
    for (const auto& e : entries) by[e.path] = e;
    for (const auto& e : entries) {
        CHECK(e.mtime == 1700000000);
        if (e.path != "etc/owned") CHECK((e.uid == 0 && e.gid == 0));
    }
    CHECK(by["etc/owned"].uid == 33);
    CHECK(by["etc/owned"].gid == 34);
    CHECK(by["etc/owned"].perm == 0600);
    CHECK(by["etc/hostname"].data == "berth\n");
    CHECK(by["root/hello"].data == "hello\n");
    CHECK(by["root/hello"].perm == 0755);
    CHECK(by["root/link"].type == AE_IFLNK);
    CHECK(by["root/link"].symlink == "hello");
    CHECK(by["bin/sh"].symlink == "/bin/busybox");
    CHECK(by["tmp"].perm == 01777);
    CHECK(by["dev/console"].type == AE_IFCHR);
    // Inode numbers: assigned in path order starting at 1, shared by the hard links,
    // whose data travels with the last link.
    CHECK(by["bin"].ino == 1);
    CHECK(by["root/sub/one"].ino == by["root/sub/two"].ino);
    CHECK(by["root/sub/one"].nlink == 2);
    CHECK(by["root/sub/two"].nlink == 2);
    CHECK(by["root/sub/two"].data == "linked data");
    CHECK(by["tmp"].ino == std::int64_t(entries.size() - 1));  // one number saved by the link
}

TEST_CASE("cpio: two writes give identical bytes; SOURCE_DATE_EPOCH sets mtime", "[builder][cpio]") {
    test::TempDir tmp;
    Tree t = sample_tree(tmp);
    ::setenv("SOURCE_DATE_EPOCH", "1234567890", 1);
    CpioOptions o;
    o.mtime = source_date_epoch();
    ::unsetenv("SOURCE_DATE_EPOCH");
    CHECK(o.mtime == 1234567890);
    CHECK(source_date_epoch() == 0);
    write_cpio(t, tmp / "a.img", o);
    ::sleep(1);  // a timestamp leaking into the gzip header would show up now
    ::utime((tmp / "src/hello").c_str(), nullptr);
    write_cpio(t, tmp / "b.img", o);
    CHECK(fs::read_file(tmp / "a.img") == fs::read_file(tmp / "b.img"));
    CHECK(read_archive(tmp / "a.img").at(0).mtime == 1234567890);

    ::setenv("SOURCE_DATE_EPOCH", "yesterday", 1);
    CHECK_THROWS_WITH(source_date_epoch(), Contains("SOURCE_DATE_EPOCH"));
    ::unsetenv("SOURCE_DATE_EPOCH");
}

TEST_CASE("cpio: the size is known in advance and the newc limit is enforced", "[builder][cpio]") {
    test::TempDir tmp;
    Tree t = sample_tree(tmp);
    CpioOptions raw;
    raw.gzip = false;
    ArchiveStats st = write_cpio(t, tmp / "raw.cpio", raw);
    struct stat sb;
    REQUIRE(::stat((tmp / "raw.cpio").c_str(), &sb) == 0);
    CHECK(std::uint64_t(sb.st_size) == newc_size(t));
    CHECK(st.uncompressed_bytes == newc_size(t));
    CHECK(st.written_bytes == newc_size(t));

    // GNU cpio reads it too.
    ProcessResult r = run_process({"cpio", "-it", "--quiet", "-F", tmp / "raw.cpio"});
    if (r.exit_code == 0) CHECK_THAT(r.out, Contains("root/sub/two\n") && Contains("etc/hostname\n"));

    CpioOptions small;
    small.max_size = newc_size(t) - 1;
    CHECK_THROWS_WITH(write_cpio(t, tmp / "big.img", small), Contains("a newc cpio archive can hold"));
    CHECK_FALSE(fs::exists(tmp / "big.img"));
    CHECK_FALSE(fs::exists(tmp / "big.img.tmp"));
}

TEST_CASE("tree: later entries replace earlier ones; parents are implied", "[builder][cpio]") {
    Tree t;
    t.add_bytes("/etc/hostname", "a");
    t.add_bytes("etc//hostname", "b", 0600);
    REQUIRE(t.find("etc/hostname"));
    CHECK(t.find("etc/hostname")->data == "b");
    CHECK(t.find("etc")->kind == TreeEntry::Kind::directory);
    CHECK_THROWS_WITH(t.add_bytes("etc", "x"), Contains("non-empty directory"));
    CHECK_THROWS_WITH(t.add_bytes("etc/hostname/x", "x"), Contains("is not a directory"));
    CHECK_THROWS_WITH(t.add_bytes("../x", "x"), Contains(".."));
}

TEST_CASE("cpio: a file of 4 GiB or more is an error, never truncated", "[builder][cpio][malformed]") {
    test::TempDir tmp;
    // A sparse file: 4 GiB + 1 byte of size, no disk space.
    std::string big = tmp / "big.bin";
    {
        fs::Fd fd(::open(big.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        REQUIRE(fd);
        REQUIRE(::ftruncate(fd.get(), off_t((std::uint64_t(1) << 32) + 1)) == 0);
    }
    Tree t;
    t.add_bytes("etc/hostname", "x\n", 0644);
    t.add_host_file("var/big.bin", big, 0644);
    CpioOptions raw;
    raw.gzip = false;
    // The archive limit speaks first ...
    CHECK_THROWS_WITH(write_cpio(t, tmp / "a.cpio", raw), Contains("a newc cpio archive can hold"));
    // ... and with no archive limit, the per-file field size still refuses it.
    raw.max_size = ~std::uint64_t(0);
    CHECK_THROWS_WITH(write_cpio(t, tmp / "a.cpio", raw),
                      Contains("`var/big.bin` is 4.0 GiB: newc cpio cannot hold files of 4 GiB or more"));
    CHECK_FALSE(fs::exists(tmp / "a.cpio"));
    CHECK_FALSE(fs::exists(tmp / "a.cpio.tmp"));
}
