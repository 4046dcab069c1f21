// Requests to the kernel's link table over rtnetlink, written directly: the
// few PID 1 sends (set a link up, create a veth pair or a link of some kind,
// move a link into a network namespace, delete one) do not need libnl, whose
// static archives bring glibc's resolver, NSS and dlopen into PID 1.
#pragma once
#include <cstdint>
#include <string>

#include "common/fs.hpp"

struct ifinfomsg;

namespace berth::init::rtnl {

// One RTM_*LINK request: the netlink header and ifinfomsg, then attributes
// (nested ones between begin_nest and end_nest), built in place.
class LinkRequest {
public:
    LinkRequest(std::uint16_t type, std::uint16_t flags);
    ifinfomsg& info();
    void put(std::uint16_t type, const void* data, std::size_t len);
    void put_string(std::uint16_t type, const std::string& s);  // with its NUL, as the kernel wants
    void put_u32(std::uint16_t type, std::uint32_t v);
    // Starts a nested attribute; returns its offset for end_nest.
    std::size_t begin_nest(std::uint16_t type);
    void end_nest(std::size_t at);
    // An ifinfomsg inside a nested attribute (a veth peer's header).
    ifinfomsg& put_info();
    std::string& bytes(std::uint32_t seq);  // sets the length and sequence number

private:
    std::string buf_;
};

// A NETLINK_ROUTE socket. Every request asks for an acknowledgement; the
// kernel answers rtnetlink requests while the send is under way, so the
// answer is read with a bounded wait.
class Socket {
public:
    Socket();  // throws Error
    // Sends `req` and returns the kernel's answer: 0 or -errno. For
    // RTM_GETLINK, `index` (if given) gets the link's index.
    int transact(LinkRequest& req, int* index = nullptr);

private:
    fs::Fd fd_;
    std::uint32_t seq_ = 0;
};

// Link `name`'s index, or -errno (-ENODEV when there is no such link).
int link_index(Socket& sock, const std::string& name);

}  // namespace berth::init::rtnl
