// PID 1's log kept across reboots (init/boot_log.hpp): the two areas of the
// log partition (here a file), the in-memory copy, and the writer's child
// processes (here fake) with the shutdown's bounded wait.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "../supervisor/fake.hpp"
#include "fake_sys.hpp"
#include "init/boot_log.hpp"
#include "log_capture.hpp"

using namespace berth::init;
using testing::FakeSys;
using testing::LogCapture;

namespace {

struct LogDisk {
    std::string path;
    LogDisk() {
        char t[] = "/tmp/berth-boot-log-test.XXXXXX";
        int fd = ::mkstemp(t);
        REQUIRE(fd >= 0);
        REQUIRE(::ftruncate(fd, 1 << 20) == 0);
        ::close(fd);
        path = t;
    }
    ~LogDisk() { ::unlink(path.c_str()); }
    std::string previous(const std::string& boot) {
        std::string err;
        auto a = read_previous_boot_log(path, boot, &err);
        REQUIRE(err == "");
        return a ? a->boot_id + ":" + a->text : "none";
    }
};

}  // namespace

TEST_CASE("boot log: each boot writes its own area, the previous boot's log is never overwritten") {
    LogDisk d;
    CHECK(d.previous("A") == "none");  // blank partition
    REQUIRE(write_boot_log(d.path, "A", "a1\n") == "");
    CHECK(d.previous("B") == "A:a1\n");
    CHECK(d.previous("A") == "none");  // this boot's own log is not the previous one
    // Later writes of the same boot replace its area.
    REQUIRE(write_boot_log(d.path, "A", "a1\na2\n") == "");
    REQUIRE(write_boot_log(d.path, "B", "b1\n") == "");
    CHECK(d.previous("B") == "A:a1\na2\n");
    REQUIRE(write_boot_log(d.path, "B", "b1\nb2: NOT committed\n") == "");
    CHECK(d.previous("B") == "A:a1\na2\n");
    // Boot C overwrites A's (older) area and keeps B's.
    REQUIRE(write_boot_log(d.path, "C", "c1\n") == "");
    CHECK(d.previous("C") == "B:b1\nb2: NOT committed\n");
    CHECK(d.previous("D") == "C:c1\n");
    // A torn header (a reset during the write) makes that area count as blank.
    int fd = ::open(d.path.c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    std::string head(4096, '\0');
    for (off_t at : {off_t(0), off_t(kBootLogAreaBytes)}) {
        REQUIRE(::pread(fd, head.data(), head.size(), at) == 4096);
        if (head.find("boot=C\n") != std::string::npos) REQUIRE(::pwrite(fd, "xx", 2, at) == 2);
    }
    ::close(fd);
    CHECK(d.previous("D") == "B:b1\nb2: NOT committed\n");
    // A log longer than an area keeps its end.
    std::string big(kBootLogAreaBytes, 'x');
    big += "the end\n";
    REQUIRE(write_boot_log(d.path, "E", big) == "");
    std::string err;
    auto e = read_previous_boot_log(d.path, "F", &err);
    REQUIRE(e);
    CHECK(e->text.size() == kBootLogAreaBytes - kBootLogHeaderBytes);
    CHECK(e->text.substr(e->text.size() - 8) == "the end\n");
    CHECK_FALSE(read_previous_boot_log(d.path + ".missing", "F", &err));
    CHECK_THAT(err, Catch::Contains("No such file"));
    CHECK_THAT(write_boot_log(d.path + ".missing", "F", "x"), Catch::Contains("No such file"));
}

TEST_CASE("boot log: the in-memory copy keeps the newest lines, from a line's start") {
    BootLogRing r;
    std::string line(99, 'l');
    line += '\n';
    for (int i = 0; i < 5000; ++i) r.add(std::to_string(i % 10) + line);
    CHECK(r.added() == 5000);
    CHECK(r.text().size() <= kBootLogKeepBytes);
    CHECK(r.text().size() > kBootLogKeepBytes / 2);
    CHECK(r.text().substr(r.text().size() - 101) == "9" + line);
    CHECK(r.text().size() % 101 == 0);  // whole lines only
}

TEST_CASE("boot log: the writer writes new lines from a child, never two at once, and waits at shutdown within bounds") {
    LogCapture log;
    testing::Rig rig;
    FakeSys sys;
    boot_log_ring() = BootLogRing();
    std::vector<std::function<int()>> spawned;
    BootLogWriter w(rig.loop, sys, "boot-1", [&](std::function<int()> work) {
        spawned.push_back(std::move(work));
        pid_t pid = pid_t(8000 + spawned.size());
        sys.children[pid] = sys.clock + 100;  // exits 100 ms later (for final_write)
        return pid;
    });
    w.start();
    CHECK(spawned.empty());  // nothing logged yet
    boot_log_ring().add("one\n");
    rig.advance(BootLogWriter::kWriteEveryMs);
    REQUIRE(spawned.size() == 1);
    boot_log_ring().add("two\n");
    w.write_now();
    CHECK(spawned.size() == 1);  // one write at a time
    CHECK_FALSE(w.child_exited(42, CLD_EXITED, 0));
    sys.children.erase(8001);
    REQUIRE(w.child_exited(8001, CLD_EXITED, 0));
    rig.advance(BootLogWriter::kWriteEveryMs);
    REQUIRE(spawned.size() == 2);  // "two" came during the first write
    sys.children.erase(8002);
    REQUIRE(w.child_exited(8002, CLD_EXITED, 0));
    rig.advance(BootLogWriter::kWriteEveryMs);
    CHECK(spawned.size() == 2);  // nothing new

    // At shutdown: a write under way is waited for, then the last lines are written.
    boot_log_ring().add("three\n");
    w.write_now();
    REQUIRE(spawned.size() == 3);
    boot_log_ring().add("rebooting\n");
    w.final_write(2000);
    CHECK(spawned.size() == 4);
    CHECK(sys.children.empty());
    // A child that never ends is given up on at the timeout.
    boot_log_ring().add("four\n");
    w.write_now();
    sys.children[8005] = sys.clock + 1000000;
    std::int64_t before = sys.clock;
    w.final_write(2000);
    CHECK(sys.clock - before >= 2000);
    CHECK(sys.clock - before < 2100);
    CHECK(log.has("the last write has not finished in 2000 ms"));
    sys.children.clear();
    REQUIRE(w.child_exited(8005, CLD_EXITED, 0));

    // A disk without the log partition: the child says so and the writer stops.
    CHECK(spawned.back()() == BootLogWriter::kNoPartition);
    boot_log_ring().add("five\n");
    rig.advance(BootLogWriter::kWriteEveryMs);
    REQUIRE(spawned.size() == 6);
    sys.children.clear();
    REQUIRE(w.child_exited(8006, CLD_EXITED, BootLogWriter::kNoPartition));
    CHECK(w.disabled());
    CHECK(log.has("no partition named berth-boot-log"));
    boot_log_ring().add("six\n");
    rig.advance(3 * BootLogWriter::kWriteEveryMs);
    w.final_write(2000);
    CHECK(spawned.size() == 6);
    boot_log_ring() = BootLogRing();
}
