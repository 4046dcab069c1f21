#include "supervisor/fd_sink.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.hpp"
#include "common/unix_socket.hpp"

#ifndef SO_PASSRIGHTS
#define SO_PASSRIGHTS 83  // include/uapi/asm-generic/socket.h, Linux 6.16
#endif

namespace berth::supervisor {

namespace {

constexpr int kMaxStarts = 16;

// The sink process: closes every descriptor it receives, until PID 1's end closes.
[[noreturn]] void run_sink(int sock) {
    for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);  // PID 1 blocks all; the sink ends on SIGTERM
    ::prctl(PR_SET_NAME, "berth-fd-sink", 0, 0, 0);
    // Only its socket: a copy of PID 1's descriptors would keep pipes and sockets
    // open after PID 1 closed them.
    if (sock > 0 && ::syscall(SYS_close_range, 0U, unsigned(sock - 1), 0U) < 0)
        for (int fd = 0; fd < sock; ++fd) ::close(fd);
    if (::syscall(SYS_close_range, unsigned(sock + 1), ~0U, 0U) < 0)
        for (int fd = sock + 1; fd < 65536; ++fd) ::close(fd);
    for (;;) {
        char byte;
        unix_socket::ReceivedAll got = unix_socket::receive_all(sock, &byte, 1, true);
        if (got.bytes <= 0) ::_exit(0);  // PID 1's end closed
        for (int fd : got.fds) ::close(fd);  // may wait: that is what the sink is for
    }
}

}  // namespace

FdSink::~FdSink() {
    // What the sink never took stays open: closing it here could block.
    sock_.reset();
}

bool FdSink::start() noexcept {
    if (starts_ >= kMaxStarts) return false;
    ++starts_;
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        log::error("descriptor sink: socketpair: {}", std::strerror(errno));
        return false;
    }
    pid_t pid = ::fork();
    if (pid < 0) {
        log::error("descriptor sink: fork: {}", std::strerror(errno));
        ::close(sv[0]);
        ::close(sv[1]);
        return false;
    }
    if (pid == 0) run_sink(sv[1]);
    ::close(sv[1]);
    sock_.reset(sv[0]);
    pid_ = pid;
    return true;
}

bool FdSink::flush() noexcept {
    while (!held_.empty()) {
        if (!sock_ && !start()) return false;
        std::size_t count = std::min(held_.size(), unix_socket::kMaxFdsPerMessage);
        if (unix_socket::send_with_fds(sock_.get(), "x", held_.data(), count, MSG_DONTWAIT) < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return false;
            sock_.reset();  // the sink ended: the next round starts another
            continue;
        }
        // In flight to the sink: closing these copies is not the last close.
        for (std::size_t i = 0; i < count; ++i) ::close(held_[i]);
        held_.erase(held_.begin(), held_.begin() + std::ptrdiff_t(count));
    }
    return true;
}

void FdSink::dispose(const std::vector<int>& fds) noexcept {
    try {
        held_.insert(held_.end(), fds.begin(), fds.end());
    } catch (...) {
        return;  // out of memory: the descriptors stay open, which is safe
    }
    flush();
}

bool refuse_passed_descriptors(int sock) noexcept {
    int zero = 0;
    return ::setsockopt(sock, SOL_SOCKET, SO_PASSRIGHTS, &zero, sizeof zero) == 0;
}

}  // namespace berth::supervisor
