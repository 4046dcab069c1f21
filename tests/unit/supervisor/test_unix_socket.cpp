// unix_socket::receive: the one reader of descriptor- and credential-carrying
// messages (the launch report and the NOTIFY_SOCKET datagrams).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "common/fs.hpp"
#include "common/unix_socket.hpp"

namespace us = berth::unix_socket;
using berth::fs::Fd;

namespace {

struct Pair {
    Fd a, b;
    explicit Pair(int type) {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) == 0);
        a.reset(sv[0]);
        b.reset(sv[1]);
    }
};

size_t open_fds() { return berth::fs::list_dir("/proc/self/fd").size(); }

// Sends `data` with every descriptor of `fds` in one SCM_RIGHTS message.
void send_fds(int sock, std::string_view data, const std::vector<int>& fds) {
    iovec iov{const_cast<char*>(data.data()), data.size()};
    std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control.data();
    m.msg_controllen = control.size();
    cmsghdr* h = CMSG_FIRSTHDR(&m);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(h), fds.data(), sizeof(int) * fds.size());
    REQUIRE(::sendmsg(sock, &m, 0) == ssize_t(data.size()));
}

}  // namespace

TEST_CASE("unix_socket::receive: the descriptor sent with send_with_fd arrives, close-on-exec") {
    Pair s(SOCK_SEQPACKET);
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    Fd r(p[0]), w(p[1]);
    REQUIRE(us::send_with_fd(s.a.get(), "ok 42 1", w.get()) == 7);
    w.reset();  // only the passed copy keeps the pipe open now
    char buf[64];
    us::Received got = us::receive(s.b.get(), buf, sizeof buf);
    REQUIRE(got.bytes == 7);
    CHECK(std::string(buf, 7) == "ok 42 1");
    REQUIRE(got.fd);
    CHECK((::fcntl(got.fd.get(), F_GETFD) & FD_CLOEXEC) != 0);
    CHECK_FALSE(got.control_truncated);
    CHECK_FALSE(got.data_truncated);
    REQUIRE(::write(got.fd.get(), "x", 1) == 1);
    char c = 0;
    REQUIRE(::read(r.get(), &c, 1) == 1);
    CHECK(c == 'x');
}

TEST_CASE("unix_socket::receive: a message without a descriptor has none") {
    Pair s(SOCK_SEQPACKET);
    REQUIRE(us::send_with_fd(s.a.get(), "error broken", -1) == 12);
    char buf[64];
    us::Received got = us::receive(s.b.get(), buf, sizeof buf);
    CHECK(got.bytes == 12);
    CHECK_FALSE(got.fd);
    CHECK(got.sender == 0);  // no SO_PASSCRED: no credentials
    CHECK_FALSE(got.control_truncated);
}

// [native-only]: qemu-user (the arm64 unit run) receives control messages into
// a buffer of its own and converts them, so the kernel's truncation (MSG_CTRUNC,
// and closing what does not fit) that this checks never reaches the test there.
TEST_CASE("unix_socket::receive: too many descriptors are truncated and none of them leaks", "[native-only]") {
    Pair s(SOCK_SEQPACKET);
    std::vector<Fd> keep;
    std::vector<int> fds;
    for (int i = 0; i < 16; ++i) {  // more than the control buffer holds
        keep.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        REQUIRE(keep.back());
        fds.push_back(keep.back().get());
    }
    send_fds(s.a.get(), "many", fds);
    size_t before = open_fds();
    {
        char buf[64];
        us::Received got = us::receive(s.b.get(), buf, sizeof buf);
        CHECK(got.bytes == 4);
        CHECK(got.control_truncated);
        REQUIRE(got.fd);  // the first one is kept
        CHECK(open_fds() == before + 1);
    }
    CHECK(open_fds() == before);
}

TEST_CASE("unix_socket::receive: a message longer than the buffer is reported truncated") {
    Pair s(SOCK_SEQPACKET);
    REQUIRE(us::send_with_fd(s.a.get(), "0123456789", -1) == 10);
    char buf[4];
    us::Received got = us::receive(s.b.get(), buf, sizeof buf);
    CHECK(got.bytes == 4);
    CHECK(got.data_truncated);
}

TEST_CASE("unix_socket::receive: the sender's pid comes from SCM_CREDENTIALS") {
    Pair s(SOCK_DGRAM);
    int one = 1;
    REQUIRE(::setsockopt(s.b.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one) == 0);
    REQUIRE(us::send_with_fd(s.a.get(), "READY=1", -1) == 7);
    char buf[64];
    us::Received got = us::receive(s.b.get(), buf, sizeof buf);
    CHECK(got.bytes == 7);
    CHECK(got.sender == ::getpid());
    CHECK_FALSE(got.fd);
}

TEST_CASE("unix_socket::receive: credentials and a descriptor in one message are both read") {
    Pair s(SOCK_DGRAM);
    int one = 1;
    REQUIRE(::setsockopt(s.b.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one) == 0);
    Fd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    REQUIRE(us::send_with_fd(s.a.get(), "READY=1", null.get()) == 7);
    char buf[64];
    us::Received got = us::receive(s.b.get(), buf, sizeof buf);
    CHECK(got.sender == ::getpid());
    CHECK(got.fd);
    CHECK_FALSE(got.control_truncated);
}

TEST_CASE("unix_socket::receive: nothing to read fails with EAGAIN at once") {
    Pair s(SOCK_SEQPACKET);
    char buf[8];
    us::Received got = us::receive(s.b.get(), buf, sizeof buf);
    CHECK(got.bytes == -1);
    CHECK(errno == EAGAIN);
}

TEST_CASE("unix_socket::receive_all: every descriptor of a message, none closed or dropped", "[native-only]") {
    Pair s(SOCK_DGRAM);
    std::vector<int> sent;
    std::vector<Fd> keep;
    for (int i = 0; i < 100; ++i) {
        int p[2];
        REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
        keep.emplace_back(p[0]);
        sent.push_back(p[1]);
    }
    send_fds(s.a.get(), "READY=1", sent);
    for (int fd : sent) ::close(fd);
    char buf[64];
    us::ReceivedAll got = us::receive_all(s.b.get(), buf, sizeof buf);
    CHECK(got.bytes == 7);
    REQUIRE(got.fds.size() == 100);  // all of them: the caller decides where they are closed
    for (int fd : got.fds) {
        CHECK((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
        ::close(fd);
    }
}
