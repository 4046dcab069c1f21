#include <catch2/catch.hpp>

#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/console_output.hpp"
#include "common/log.hpp"

using berth::ConsoleOutput;

namespace {

// A console that takes `room` more bytes, then answers EAGAIN (or `error`
// when set); the test makes room as a reader would.
struct FakeConsole {
    std::string shown;
    size_t room = 1 << 20;
    int error = 0;
    int eintr_once = 0;
    std::int64_t now = 0;
    int waits = 0;
    std::vector<bool> backlog_calls;

    ConsoleOutput::Io io() {
        ConsoleOutput::Io io;
        io.write = [this](int, const char* data, size_t size) -> ssize_t {
            if (eintr_once > 0) return --eintr_once, -EINTR;
            if (error) return -error;
            if (room == 0) return -EAGAIN;
            size_t n = std::min(size, room);
            shown.append(data, n);
            room -= n;
            return ssize_t(n);
        };
        // Never writable: the wait uses up its timeout on the fake clock.
        io.wait_writable = [this](int, int timeout_ms) {
            ++waits;
            now += timeout_ms;
            return 0;
        };
        io.now_ms = [this] { return now; };
        return io;
    }
};

}  // namespace

TEST_CASE("a console with room gets each line at once and nothing is kept") {
    FakeConsole c;
    ConsoleOutput out(1, 1024, c.io());
    out.write("one\n");
    out.write("two\n");
    CHECK(c.shown == "one\ntwo\n");
    CHECK_FALSE(out.pending());
}

TEST_CASE("a full console delays lines, keeps their order and their whole text") {
    FakeConsole c;
    c.room = 5;
    ConsoleOutput out(1, 1024, c.io());
    out.on_backlog([&](bool b) { c.backlog_calls.push_back(b); });
    out.write("first line\n");  // cut after 5 bytes by the console
    out.write("second\n");
    CHECK(c.shown == "first");
    CHECK(out.pending());
    CHECK(out.queued_bytes() == 6 + 7);
    c.room = 1 << 20;
    out.flush();
    CHECK(c.shown == "first line\nsecond\n");
    CHECK_FALSE(out.pending());
    CHECK(c.backlog_calls == std::vector<bool>{true, false});
    CHECK(out.dropped_lines() == 0);
}

TEST_CASE("a write interrupted by a signal is retried") {
    FakeConsole c;
    c.eintr_once = 2;
    ConsoleOutput out(1, 1024, c.io());
    out.write("hello\n");
    CHECK(c.shown == "hello\n");
}

TEST_CASE("past its bound the queue drops whole new lines, counts them and says so once it caught up") {
    FakeConsole c;
    c.room = 0;
    ConsoleOutput out(1, 20, c.io());
    out.write("0123456789\n");  // 11 bytes queued
    out.write("abcdefgh\n");    // 20 bytes: at the bound, kept
    out.write("dropped\n");     // over it: dropped
    out.write("x\n");           // also over
    CHECK(out.queued_bytes() == 20);
    CHECK(out.dropped_lines() == 2);
    CHECK(out.dropped_bytes() == 10);
    c.room = 1 << 20;
    out.write("after\n");
    CHECK(c.shown.rfind("0123456789\nabcdefgh\nberth: warning: the console could not keep up: 2 line(s), 10 bytes", 0) == 0);
    CHECK(c.shown.size() > 6);
    CHECK(c.shown.substr(c.shown.size() - 6) == "after\n");
    // Said once.
    out.write("more\n");
    CHECK(c.shown.substr(c.shown.size() - 11) == "after\nmore\n");
}

TEST_CASE("memory stays bounded however much is written to a console that never drains") {
    FakeConsole c;
    c.room = 0;
    ConsoleOutput out(1, 4096, c.io());
    for (int i = 0; i < 100000; ++i) out.write("a line of some length to fill the queue\n");
    CHECK(out.queued_bytes() <= 4096);
    CHECK(out.dropped_lines() > 99000);
    // One oversized write to an empty queue is cut at the bound, with its own end of line.
    FakeConsole d;
    d.room = 0;
    ConsoleOutput big(1, 100, d.io());
    big.write(std::string(1000, 'z'));
    CHECK(big.queued_bytes() == 101);
    CHECK(big.dropped_bytes() == 900);
}

TEST_CASE("a console that is gone loses its queue, counted, and PID 1 goes on") {
    FakeConsole c;
    c.room = 0;
    ConsoleOutput out(1, 1024, c.io());
    out.on_backlog([&](bool b) { c.backlog_calls.push_back(b); });
    out.write("a\nb\n");
    out.write("c\n");
    c.error = EIO;
    out.flush();
    CHECK_FALSE(out.pending());
    CHECK(out.dropped_lines() == 3);
    CHECK(c.backlog_calls == std::vector<bool>{true, false});
    out.write("d\n");  // still EIO: nothing kept, nothing waits
    CHECK_FALSE(out.pending());
}

TEST_CASE("the last flush waits for the console, bounded in all") {
    FakeConsole c;
    c.room = 0;
    ConsoleOutput out(1, 1024, c.io());
    out.write("the machine powers off now\n");
    CHECK_FALSE(out.flush_for(1000));
    CHECK(c.now == 1000);
    CHECK(c.waits == 1);
    c.room = 1 << 20;
    CHECK(out.flush_for(1000));
    CHECK(c.shown == "the machine powers off now\n");
}

TEST_CASE("a child forked from PID 1 logs straight to the fd, not through PID 1's queue") {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    FakeConsole c;
    c.room = 0;  // PID 1's console is full: its line waits in the queue
    ConsoleOutput out(1, 1024, c.io());
    berth::log::set_fd(p[1]);
    berth::log::set_console(&out);
    berth::log::info("parent line");
    REQUIRE(out.pending());
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        berth::log::info("child line");
        ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    berth::log::set_console(nullptr);
    berth::log::set_fd(2);
    ::close(p[1]);
    char buf[256] = {};
    ssize_t n = ::read(p[0], buf, sizeof buf - 1);
    ::close(p[0]);
    std::string got(buf, n > 0 ? size_t(n) : 0);
    CHECK(got.find("child line") != std::string::npos);
    CHECK(got.find("parent line") == std::string::npos);
    CHECK(c.shown.empty());
}
