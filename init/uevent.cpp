#include "init/uevent.hpp"

#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "common/error.hpp"
#include "common/log.hpp"

namespace berth::init {

std::optional<Uevent> parse_uevent(const char* data, std::size_t size) {
    std::string_view all(data, size);
    std::string_view header = all.substr(0, all.find('\0'));
    std::size_t at = header.find('@');
    if (at == std::string_view::npos || at == 0 || at + 1 >= header.size()) return std::nullopt;
    Uevent ev;
    ev.action = std::string(header.substr(0, at));
    ev.devpath = std::string(header.substr(at + 1));
    std::size_t i = header.size() + 1;
    while (i < all.size() && ev.env.size() < 64) {
        std::string_view kv = all.substr(i);
        kv = kv.substr(0, kv.find('\0'));
        i += kv.size() + 1;
        std::size_t eq = kv.find('=');
        if (eq == std::string_view::npos || eq == 0) continue;
        ev.env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
    }
    if (auto a = ev.env.find("ACTION"); a != ev.env.end() && a->second != ev.action) return std::nullopt;
    return ev;
}

UeventSocket::UeventSocket() {
    fd_ = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
    if (fd_ < 0) throw Error("uevent socket", errno);
    // A burst (a USB hub with many devices) must not overflow before the loop turns.
    int size = 1 << 20;
    if (::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    sockaddr_nl addr{};
    addr.nl_family = AF_NETLINK;
    addr.nl_groups = 1;  // the kernel's own events (udev re-broadcasts on group 2)
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
        int err = errno;
        ::close(fd_);
        fd_ = -1;
        throw Error("bind uevent socket", err);
    }
}

UeventSocket::~UeventSocket() {
    if (fd_ >= 0) ::close(fd_);
}

int UeventSocket::drain(int max_events, const std::function<void(const Uevent&)>& on_event) {
    int n = 0;
    char buf[8192];
    while (n < max_events) {
        sockaddr_nl from{};
        iovec iov{buf, sizeof buf};
        msghdr msg{};
        msg.msg_name = &from;
        msg.msg_namelen = sizeof from;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        ssize_t got = ::recvmsg(fd_, &msg, MSG_DONTWAIT);
        if (got < 0) {
            if (errno == EINTR) continue;
            if (errno == ENOBUFS) {
                ++n;
                log::warn("uevent socket overflowed: some device events were lost");
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) log::warn("uevent socket: {}", std::strerror(errno));
            break;
        }
        ++n;
        // Only the kernel (port 0) is believed; a truncated datagram is dropped.
        if (from.nl_pid != 0 || (msg.msg_flags & MSG_TRUNC)) continue;
        if (auto ev = parse_uevent(buf, std::size_t(got))) on_event(*ev);
    }
    return n;
}

}  // namespace berth::init
