#include "init/container_interfaces.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace berth::init {

namespace {

struct SockFree {
    void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct LinkPut {
    void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
using Sock = std::unique_ptr<nl_sock, SockFree>;
using Link = std::unique_ptr<rtnl_link, LinkPut>;

// libnl reports its own codes; the errno they stand for, for berth::Error.
int errno_of(int nl_code) {
    switch (nl_code < 0 ? -nl_code : nl_code) {
    case NLE_EXIST: return EEXIST;
    case NLE_INVAL: return EINVAL;
    case NLE_RANGE: return ERANGE;
    case NLE_NOMEM: return ENOMEM;
    case NLE_OPNOTSUPP: return EOPNOTSUPP;
    case NLE_OBJ_NOTFOUND: return ENODEV;  // rtnetlink's "no such link"
    case NLE_NODEV: return ENODEV;
    case NLE_PERM: return EPERM;
    case NLE_NOACCESS: return EACCES;
    case NLE_BUSY: return EBUSY;
    case NLE_AGAIN: return EAGAIN;
    case NLE_INTR: return EINTR;
    case NLE_MSGSIZE: return EMSGSIZE;
    default: return EIO;
    }
}

[[noreturn]] void fail(const std::string& what, int nl_code) {
    std::string hint;
    if (nl_code == -NLE_OPNOTSUPP)
        hint = " (a link kind this kernel does not have: is its module in the YAML's kernel.modules?)";
    // The errno's own words where libnl maps back to one ("Invalid argument"
    // reads better than libnl's "Invalid input data or parameter").
    int err = errno_of(nl_code);
    throw Error(what + ": " + (err != EIO ? std::strerror(err) : nl_geterror(nl_code)) + hint, err);
}

Link alloc_link(const std::string& what) {
    Link l(rtnl_link_alloc());
    if (!l) throw Error(what + ": netlink: out of memory", ENOMEM);
    return l;
}

// Moves the root namespace's link `name` into the namespace behind ns_fd.
void move_link(nl_sock* sock, const std::string& name, int ns_fd, const std::string& what) {
    rtnl_link* found = nullptr;
    int rc = rtnl_link_get_kernel(sock, 0, name.c_str(), &found);
    Link link(found);
    if (rc < 0) fail(what + ": find it in the root namespace", rc);
    Link change = alloc_link(what);
    rtnl_link_set_ns_fd(change.get(), ns_fd);
    if ((rc = rtnl_link_change(sock, link.get(), change.get(), 0)) < 0)
        fail(what + ": move it into the container's network namespace", rc);
}

void add_veth(nl_sock* sock, const config::RuntimeInterface& i, int ns_fd, const std::string& what) {
    // One request: no moment where `name` exists in the root namespace.
    Link root_end(rtnl_link_veth_alloc());
    if (!root_end) throw Error(what + ": netlink: out of memory", ENOMEM);
    rtnl_link_set_name(root_end.get(), i.peer.c_str());
    rtnl_link* inside = rtnl_link_veth_get_peer(root_end.get());
    if (!inside) throw Error(what + ": netlink: no veth support in this build of libnl", EOPNOTSUPP);
    rtnl_link_set_name(inside, i.name.c_str());
    rtnl_link_set_ns_fd(inside, ns_fd);
    int rc = rtnl_link_add(sock, root_end.get(), NLM_F_CREATE | NLM_F_EXCL);
    rtnl_link_put(inside);  // rtnl_link_veth_get_peer took a reference
    if (rc < 0) fail(what + ": create the veth pair (peer `" + i.peer + "` in the root namespace)", rc);
}

void add_link(nl_sock* sock, const config::RuntimeInterface& i, int ns_fd, const std::string& what) {
    Link link = alloc_link(what);
    rtnl_link_set_name(link.get(), i.name.c_str());
    int rc = rtnl_link_set_type(link.get(), i.add.c_str());
    if (rc < 0) fail(what + ": link kind `" + i.add + "`", rc);
    if (!i.create_in_root) rtnl_link_set_ns_fd(link.get(), ns_fd);
    if ((rc = rtnl_link_add(sock, link.get(), NLM_F_CREATE | NLM_F_EXCL)) < 0)
        fail(what + ": create a `" + i.add + "` link" + (i.create_in_root ? " in the root namespace" : ""), rc);
    if (!i.create_in_root) return;
    try {
        move_link(sock, i.name, ns_fd, what);
    } catch (...) {
        // Not left behind in the root namespace, where it was never wanted.
        Link gone = alloc_link(what);
        rtnl_link_set_name(gone.get(), i.name.c_str());
        (void)rtnl_link_delete(sock, gone.get());
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
    Sock sock(nl_socket_alloc());
    if (!sock) throw Error(where + ": interfaces: netlink socket: out of memory", ENOMEM);
    if (int rc = nl_connect(sock.get(), NETLINK_ROUTE); rc < 0) fail(where + ": interfaces: netlink connect", rc);
    for (std::size_t k = 0; k < interfaces.size(); ++k) {
        const auto& i = interfaces[k];
        const std::string what = where + ": interfaces[" + std::to_string(k) + "] `" + i.name + "`";
        if (i.add == "veth") {
            add_veth(sock.get(), i, ns.get(), what);
            log::info("{}: veth pair created, `{}` in the container, `{}` in the root namespace", where, i.name, i.peer);
        } else if (!i.add.empty()) {
            add_link(sock.get(), i, ns.get(), what);
            log::info("{}: `{}` link `{}` created in the container{}", where, i.add, i.name,
                      i.create_in_root ? " (made in the root namespace, then moved)" : "");
        } else {
            move_link(sock.get(), i.name, ns.get(), what);
            log::info("{}: interface `{}` moved into the container", where, i.name);
        }
    }
}

}  // namespace berth::init
