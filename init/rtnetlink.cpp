#include "init/rtnetlink.hpp"

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"

namespace berth::init::rtnl {

namespace {
constexpr std::size_t align(std::size_t n) { return (n + 3) & ~std::size_t(3); }
}  // namespace

LinkRequest::LinkRequest(std::uint16_t type, std::uint16_t flags) {
    buf_.assign(NLMSG_HDRLEN + align(sizeof(ifinfomsg)), '\0');
    nlmsghdr h{};
    h.nlmsg_type = type;
    h.nlmsg_flags = std::uint16_t(NLM_F_REQUEST | NLM_F_ACK | flags);
    std::memcpy(buf_.data(), &h, sizeof h);
    info().ifi_family = AF_UNSPEC;
}

ifinfomsg& LinkRequest::info() { return *reinterpret_cast<ifinfomsg*>(buf_.data() + NLMSG_HDRLEN); }

void LinkRequest::put(std::uint16_t type, const void* data, std::size_t len) {
    rtattr a{};
    a.rta_type = type;
    a.rta_len = std::uint16_t(RTA_LENGTH(len));
    std::size_t at = buf_.size();
    buf_.resize(at + align(RTA_LENGTH(len)), '\0');
    std::memcpy(buf_.data() + at, &a, sizeof a);
    if (len) std::memcpy(buf_.data() + at + RTA_LENGTH(0), data, len);
}

void LinkRequest::put_string(std::uint16_t type, const std::string& s) { put(type, s.c_str(), s.size() + 1); }

void LinkRequest::put_u32(std::uint16_t type, std::uint32_t v) { put(type, &v, sizeof v); }

std::size_t LinkRequest::begin_nest(std::uint16_t type) {
    std::size_t at = buf_.size();
    put(type, nullptr, 0);
    return at;
}

void LinkRequest::end_nest(std::size_t at) {
    std::uint16_t len = std::uint16_t(buf_.size() - at);
    std::memcpy(buf_.data() + at + offsetof(rtattr, rta_len), &len, sizeof len);
}

ifinfomsg& LinkRequest::put_info() {
    std::size_t at = buf_.size();
    buf_.resize(at + align(sizeof(ifinfomsg)), '\0');
    auto& i = *reinterpret_cast<ifinfomsg*>(buf_.data() + at);
    i.ifi_family = AF_UNSPEC;
    return i;
}

std::string& LinkRequest::bytes(std::uint32_t seq) {
    auto& h = *reinterpret_cast<nlmsghdr*>(buf_.data());
    h.nlmsg_len = std::uint32_t(buf_.size());
    h.nlmsg_seq = seq;
    return buf_;
}

Socket::Socket() : fd_(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) {
    if (!fd_) throw_errno("netlink socket");
    // Bounded: the answer is queued before send returns, so this never waits
    // in practice; a kernel that failed to answer must not hang the caller.
    timeval timeout{5, 0};
    if (::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) < 0)
        throw_errno("netlink socket: SO_RCVTIMEO");
}

int Socket::transact(LinkRequest& req, int* index) {
    const std::uint32_t seq = ++seq_;
    const std::string& out = req.bytes(seq);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd_.get(), out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
        return -errno;
    alignas(nlmsghdr) static char buf[16384];
    for (;;) {
        ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;  // EAGAIN after the timeout
        }
        std::size_t left = std::size_t(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_seq != seq) continue;  // an answer to an earlier, abandoned request
            if (h->nlmsg_type == RTM_NEWLINK && index &&
                h->nlmsg_len >= NLMSG_LENGTH(sizeof(ifinfomsg)))
                *index = static_cast<ifinfomsg*>(NLMSG_DATA(h))->ifi_index;
            if (h->nlmsg_type == NLMSG_ERROR) {
                if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return -EIO;
                return static_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
            }
        }
    }
}

int link_index(Socket& sock, const std::string& name) {
    LinkRequest req(RTM_GETLINK, 0);
    req.put_string(IFLA_IFNAME, name);
    int index = 0;
    int rc = sock.transact(req, &index);
    if (rc < 0) return rc;
    return index > 0 ? index : -ENODEV;
}

}  // namespace berth::init::rtnl
