#include "init/netlink.hpp"

#include <linux/rtnetlink.h>
#include <net/if.h>

#include <cstring>

#include "common/error.hpp"
#include "init/rtnetlink.hpp"

namespace berth::init {

std::string link_up(const std::string& ifname) {
    try {
        rtnl::Socket sock;
        int index = rtnl::link_index(sock, ifname);
        if (index < 0) return "get link " + ifname + ": " + std::strerror(-index);
        rtnl::LinkRequest req(RTM_NEWLINK, 0);
        req.info().ifi_index = index;
        req.info().ifi_flags = IFF_UP;
        req.info().ifi_change = IFF_UP;
        if (int rc = sock.transact(req); rc < 0) return "set " + ifname + " up: " + std::strerror(-rc);
        return "";
    } catch (const Error& e) {
        return e.what();
    }
}

}  // namespace berth::init
