#include "init/netlink.hpp"

#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

namespace berth::init {

std::string link_up(const std::string& ifname) {
    nl_sock* sock = nl_socket_alloc();
    if (!sock) return "netlink socket: out of memory";
    std::string err;
    rtnl_link* link = nullptr;
    rtnl_link* change = nullptr;
    int rc = nl_connect(sock, NETLINK_ROUTE);
    if (rc < 0) {
        err = std::string("netlink connect: ") + nl_geterror(rc);
    } else if ((rc = rtnl_link_get_kernel(sock, 0, ifname.c_str(), &link)) < 0) {
        err = "get link " + ifname + ": " + nl_geterror(rc);
    } else if (!(change = rtnl_link_alloc())) {
        err = "netlink: out of memory";
    } else {
        rtnl_link_set_flags(change, IFF_UP);
        if ((rc = rtnl_link_change(sock, link, change, 0)) < 0)
            err = "set " + ifname + " up: " + nl_geterror(rc);
    }
    if (change) rtnl_link_put(change);
    if (link) rtnl_link_put(link);
    nl_socket_free(sock);
    return err;
}

}  // namespace berth::init
