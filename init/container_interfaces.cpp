#include "init/container_interfaces.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "init/rtnetlink.hpp"

namespace berth::init {

namespace {

[[noreturn]] void fail(const std::string& what, int rc) {
    int err = rc < 0 ? -rc : rc;
    std::string hint;
    if (err == EOPNOTSUPP)
        hint = " (a link kind this kernel does not have: is its module in the YAML's kernel.modules?)";
    throw Error(what + ": " + std::strerror(err) + hint, err);
}

// Moves the root namespace's link `name` into the namespace behind ns_fd.
void move_link(rtnl::Socket& sock, const std::string& name, int ns_fd, const std::string& what) {
    int index = rtnl::link_index(sock, name);
    if (index < 0) fail(what + ": find it in the root namespace", index);
    rtnl::LinkRequest req(RTM_NEWLINK, 0);
    req.info().ifi_index = index;
    req.put_u32(IFLA_NET_NS_FD, std::uint32_t(ns_fd));
    if (int rc = sock.transact(req); rc < 0) fail(what + ": move it into the container's network namespace", rc);
}

void add_veth(rtnl::Socket& sock, const config::RuntimeInterface& i, int ns_fd, const std::string& what) {
    // One request: no moment where `name` exists in the root namespace.
    rtnl::LinkRequest req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    req.put_string(IFLA_IFNAME, i.peer);
    auto info = req.begin_nest(IFLA_LINKINFO);
    req.put_string(IFLA_INFO_KIND, "veth");
    auto data = req.begin_nest(IFLA_INFO_DATA);
    auto peer = req.begin_nest(VETH_INFO_PEER);
    req.put_info();
    req.put_string(IFLA_IFNAME, i.name);
    req.put_u32(IFLA_NET_NS_FD, std::uint32_t(ns_fd));
    req.end_nest(peer);
    req.end_nest(data);
    req.end_nest(info);
    if (int rc = sock.transact(req); rc < 0)
        fail(what + ": create the veth pair (peer `" + i.peer + "` in the root namespace)", rc);
}

void add_link(rtnl::Socket& sock, const config::RuntimeInterface& i, int ns_fd, const std::string& what) {
    rtnl::LinkRequest req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    req.put_string(IFLA_IFNAME, i.name);
    auto info = req.begin_nest(IFLA_LINKINFO);
    req.put_string(IFLA_INFO_KIND, i.add);
    req.end_nest(info);
    if (!i.create_in_root) req.put_u32(IFLA_NET_NS_FD, std::uint32_t(ns_fd));
    if (int rc = sock.transact(req); rc < 0)
        fail(what + ": create a `" + i.add + "` link" + (i.create_in_root ? " in the root namespace" : ""), rc);
    if (!i.create_in_root) return;
    try {
        move_link(sock, i.name, ns_fd, what);
    } catch (...) {
        // Not left behind in the root namespace, where it was never wanted.
        rtnl::LinkRequest gone(RTM_DELLINK, 0);
        gone.put_string(IFLA_IFNAME, i.name);
        (void)sock.transact(gone);
        throw;
    }
}

}  // namespace

void set_up_interfaces(const std::vector<config::RuntimeInterface>& interfaces, pid_t pid, const std::string& where) {
    if (interfaces.empty()) return;
    const std::string ns_path = "/proc/" + std::to_string(pid) + "/ns/net";
    // The namespace by descriptor, not by pid: what is moved goes where it was opened.
    fs::Fd ns(::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns) throw_errno(where + ": interfaces: open the container's network namespace " + ns_path);
    std::optional<rtnl::Socket> sock;
    try {
        sock.emplace();
    } catch (const Error& e) {
        throw Error(where + ": interfaces: " + e.what(), e.code());
    }
    for (std::size_t k = 0; k < interfaces.size(); ++k) {
        const auto& i = interfaces[k];
        const std::string what = where + ": interfaces[" + std::to_string(k) + "] `" + i.name + "`";
        if (i.add == "veth") {
            add_veth(*sock, i, ns.get(), what);
            log::info("{}: veth pair created, `{}` in the container, `{}` in the root namespace", where, i.name, i.peer);
        } else if (!i.add.empty()) {
            add_link(*sock, i, ns.get(), what);
            log::info("{}: `{}` link `{}` created in the container{}", where, i.add, i.name,
                      i.create_in_root ? " (made in the root namespace, then moved)" : "");
        } else {
            move_link(*sock, i.name, ns.get(), what);
            log::info("{}: interface `{}` moved into the container", where, i.name);
        }
    }
}

}  // namespace berth::init
