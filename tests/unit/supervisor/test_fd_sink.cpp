// FdSink: descriptors a service sends PID 1 are closed in a child process, so
// that a last close that waits (a lingering TCP socket) never waits in PID 1.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <vector>

#include "common/fs.hpp"
#include "supervisor/fd_sink.hpp"

using berth::fs::Fd;
using berth::supervisor::FdSink;

namespace {

// A TCP connection over loopback whose peer never reads, with `linger_s` of
// SO_LINGER and a full send queue: its last close waits up to linger_s seconds.
struct LingeringSocket {
    Fd listener, client;
    explicit LingeringSocket(int linger_s) {
        listener.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        REQUIRE(listener);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(listener.get(), 1) == 0);
        socklen_t len = sizeof a;
        REQUIRE(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&a), &len) == 0);
        client.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        int small = 4096;
        ::setsockopt(listener.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        REQUIRE(::connect(client.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        ::fcntl(client.get(), F_SETFL, O_NONBLOCK);
        char block[4096] = {};
        while (::send(client.get(), block, sizeof block, MSG_NOSIGNAL) > 0) {
        }
        linger l{1, linger_s};
        REQUIRE(::setsockopt(client.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l) == 0);
        ::fcntl(client.get(), F_SETFL, 0);  // a blocking socket lingers in close
    }
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("FdSink: a lingering socket is closed in the sink, without waiting here", "[fd-sink]") {
    LingeringSocket s(2);
    pid_t sink = 0;
    {
        FdSink fds;
        auto t0 = std::chrono::steady_clock::now();
        fds.dispose({s.client.release()});
        CHECK(seconds_since(t0) < 0.5);  // a close here would take the 2 s of SO_LINGER
        CHECK(fds.held() == 0);
        sink = fds.pid();
        REQUIRE(sink > 0);
        // More, to the same sink, which is busy lingering: they wait in its queue.
        int p[2];
        REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
        t0 = std::chrono::steady_clock::now();
        fds.dispose({p[0], p[1]});
        CHECK(seconds_since(t0) < 0.5);
        CHECK(fds.pid() == sink);
    }
    // Its end closed, the sink ends once its closes are done: within the linger time.
    auto t0 = std::chrono::steady_clock::now();
    int status = 0;
    REQUIRE(::waitpid(sink, &status, 0) == sink);
    CHECK(seconds_since(t0) < 5);
    CHECK(WIFEXITED(status));
}

TEST_CASE("FdSink: a sink that was killed is replaced by the next disposal", "[fd-sink]") {
    FdSink fds;
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    fds.dispose({p[0]});
    pid_t first = fds.pid();
    REQUIRE(first > 0);
    ::kill(first, SIGKILL);
    REQUIRE(::waitpid(first, nullptr, 0) == first);
    fds.dispose({p[1]});
    CHECK(fds.held() == 0);
    pid_t second = fds.pid();
    CHECK(second != first);
    CHECK(second > 0);
    ::kill(second, SIGKILL);  // a copy of this test process until it resets its signals
    REQUIRE(::waitpid(second, nullptr, 0) == second);
}
