#include "runtime/idmap_mounts.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/reap.hpp"
#include "runtime/sysfile.hpp"

namespace berth::runtime {
namespace {

std::string render(const std::vector<oci::IdMapping>& maps) {
    std::string s;
    for (const auto& m : maps) s += fmt::format("{} {} {}\n", m.container_id, m.host_id, m.size);
    return s;
}

// A user namespace with the given mappings, held by a child that only waits
// for its pipe to close: the namespace outlives it through the returned fd.
fs::Fd make_user_namespace(const std::vector<oci::IdMapping>& uids, const std::vector<oci::IdMapping>& gids) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) throw_errno("pipe");
    fs::Fd rd(p[0]), wr(p[1]);
    // Raw clone: no fork handlers run, the child makes only raw system calls.
    long pid = ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
    if (pid < 0) throw_errno("clone a user namespace for an idmapped mount");
    if (pid == 0) {
        ::close(p[1]);
        char c;
        while (::read(p[0], &c, 1) < 0 && errno == EINTR) {
        }
        ::_exit(0);
    }
    fs::Fd ns;
    int err = 0;
    std::string what;
    try {
        std::string proc = fmt::format("/proc/{}/", pid);
        write_kernel_file(proc + "uid_map", render(uids));
        write_kernel_file(proc + "gid_map", render(gids));
        ns.reset(::open((proc + "ns/user").c_str(), O_RDONLY | O_CLOEXEC));
        if (!ns) throw_errno("open `" + proc + "ns/user`");
    } catch (const Error& e) {
        err = e.code();
        what = e.what();
    }
    wr.reset();  // the helper's read returns 0: it exits
    proc::wait_exit(pid_t(pid));
    if (!ns) throw Error(what, err);
    return ns;
}

bool is_recursive_bind(const oci::Mount& m) {
    for (const auto& o : m.options)
        if (o == "rbind") return true;
    return false;
}

struct CachedNs {
    const oci::Mount* mappings;
    fs::Fd fd;
};

}  // namespace

IdmappedTrees IdmappedTrees::prepare(const std::vector<oci::Mount>& mounts, const std::string& bundle_dir) {
    IdmappedTrees out;
    std::vector<CachedNs> namespaces;  // one per distinct mapping
    for (size_t i = 0; i < mounts.size(); ++i) {
        const oci::Mount& m = mounts[i];
        if (m.idmap == oci::IdmapMode::none) continue;
        if (out.fds_.empty()) out.fds_.resize(mounts.size());
        std::string source = m.source;
        if (!source.empty() && source[0] != '/') source = fs::join(bundle_dir, source);
        const std::string what =
            fmt::format("mount `{}` (idmapped bind of `{}`)", m.destination, source);

        int ns_fd = -1;
        for (const auto& c : namespaces)
            if (render(c.mappings->uid_mappings) == render(m.uid_mappings) &&
                render(c.mappings->gid_mappings) == render(m.gid_mappings))
                ns_fd = c.fd.get();
        if (ns_fd < 0) {
            fs::Fd ns = with_context(what, [&] { return make_user_namespace(m.uid_mappings, m.gid_mappings); });
            ns_fd = ns.get();
            namespaces.push_back({&m, std::move(ns)});
        }

        unsigned tree_flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (is_recursive_bind(m) ? AT_RECURSIVE : 0);
        fs::Fd tree(int(::syscall(SYS_open_tree, AT_FDCWD, source.c_str(), tree_flags)));
        if (!tree) throw_errno(what + ": open_tree");
        mount_attr attr{};
        attr.attr_set = MOUNT_ATTR_IDMAP;
        attr.userns_fd = std::uint64_t(ns_fd);
        unsigned set_flags = AT_EMPTY_PATH | (m.idmap == oci::IdmapMode::recursive ? AT_RECURSIVE : 0);
        if (::syscall(SYS_mount_setattr, tree.get(), "", set_flags, &attr, sizeof attr) < 0) {
            int err = errno;
            if (err == EINVAL)
                throw Error(fmt::format("{}: the kernel refused to idmap it: the file system{} does not support "
                                        "idmapped mounts (mount_setattr: {})",
                                        what, m.idmap == oci::IdmapMode::recursive ? " (or one mounted below it)" : "",
                                        std::strerror(err)),
                            err);
            throw_errno(what + ": mount_setattr MOUNT_ATTR_IDMAP", err);
        }
        out.fds_[i] = std::move(tree);
    }
    return out;
}

void attach_tree(int tree_fd, const std::string& target) {
    if (::syscall(SYS_move_mount, tree_fd, "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0)
        throw_errno("move_mount onto `" + target + "`");
}

}  // namespace berth::runtime
