#include "runtime/namespaces.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <vector>
#include <cstring>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/log.hpp"
#include "runtime/sysfile.hpp"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

namespace berth::runtime {
namespace {

// struct clone_args up to `cgroup` (CLONE_ARGS_SIZE_VER2), declared here to
// avoid mixing <linux/sched.h> with glibc's <sched.h>.
struct CloneArgs {
    std::uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    std::uint64_t set_tid, set_tid_size, cgroup;
};
constexpr std::size_t kCloneArgsVer0 = 64;

std::string ns_what(const oci::Namespace& ns) {
    return fmt::format("join {} namespace `{}`", oci::namespace_name(ns.type), ns.path);
}

void setns_path(const oci::Namespace& ns) {
    fs::Fd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno(ns_what(ns));
    if (::setns(fd.get(), clone_flag(ns.type)) < 0) throw_errno(ns_what(ns));
}

fs::Fd enter_for_children(const oci::Linux& l, oci::NamespaceType t, const char* self) {
    const oci::Namespace* ns = l.find_namespace(t);
    if (!ns || ns->path.empty()) return {};
    fs::Fd own(::open(self, O_RDONLY | O_CLOEXEC));
    if (!own) throw_errno(std::string("open `") + self + "`");
    setns_path(*ns);
    return own;
}

void restore(fs::Fd& own, int flag) {
    if (own && ::setns(own.get(), flag) < 0)
        log::error("restore own namespace for children: {}", std::strerror(errno));
}

}  // namespace

int clone_flag(oci::NamespaceType t) {
    switch (t) {
        case oci::NamespaceType::pid: return CLONE_NEWPID;
        case oci::NamespaceType::network: return CLONE_NEWNET;
        case oci::NamespaceType::mount: return CLONE_NEWNS;
        case oci::NamespaceType::ipc: return CLONE_NEWIPC;
        case oci::NamespaceType::uts: return CLONE_NEWUTS;
        case oci::NamespaceType::user: return CLONE_NEWUSER;
        case oci::NamespaceType::cgroup: return CLONE_NEWCGROUP;
        case oci::NamespaceType::time: return CLONE_NEWTIME;
    }
    return 0;
}

unsigned long clone_namespace_flags(const oci::Linux& l) {
    unsigned long flags = 0;
    for (const auto& ns : l.namespaces)
        if (ns.path.empty() && ns.type != oci::NamespaceType::cgroup) flags |= unsigned(clone_flag(ns.type));
    // Born in it, the child would freeze its offsets: it makes its own instead.
    if (!l.time_offsets.empty()) flags &= ~unsigned(CLONE_NEWTIME);
    return flags;
}

void enter_time_namespace_with_offsets(const std::map<std::string, oci::TimeOffset>& offsets) {
    // unshare only prepares the namespace for children; the offsets can be
    // written until a process is in it, then this process enters it itself.
    if (::unshare(CLONE_NEWTIME) < 0) throw_errno("unshare time namespace");
    std::string lines;
    for (const auto& [clock, off] : offsets)
        lines += fmt::format("{} {} {}\n", clock == "boottime" ? CLOCK_BOOTTIME : CLOCK_MONOTONIC, off.secs,
                             off.nanosecs);
    write_kernel_file("/proc/self/timens_offsets", lines);
    fs::Fd ns(::open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC));
    if (!ns) throw_errno("open `/proc/self/ns/time_for_children`");
    if (::setns(ns.get(), CLONE_NEWTIME) < 0) throw_errno("enter the new time namespace");
}

ChildNamespaceSwitch::ChildNamespaceSwitch(const oci::Linux& l) {
    own_pid_ = enter_for_children(l, oci::NamespaceType::pid, "/proc/self/ns/pid");
    try {
        own_time_ = enter_for_children(l, oci::NamespaceType::time, "/proc/self/ns/time");
    } catch (...) {
        restore(own_pid_, CLONE_NEWPID);
        throw;
    }
}

ChildNamespaceSwitch::~ChildNamespaceSwitch() {
    restore(own_pid_, CLONE_NEWPID);
    restore(own_time_, CLONE_NEWTIME);
}

pid_t clone_process(unsigned long flags, int* pidfd, int cgroup_fd, bool* cloned_into_cgroup) {
    *pidfd = -1;
    if (cloned_into_cgroup) *cloned_into_cgroup = false;
    CloneArgs args{};
    args.flags = flags | CLONE_PIDFD;
    args.pidfd = std::uint64_t(reinterpret_cast<std::uintptr_t>(pidfd));
    args.exit_signal = SIGCHLD;
    long r = -1;
    if (cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = std::uint64_t(cgroup_fd);
        r = ::syscall(SYS_clone3, &args, sizeof args);
        if (r >= 0 && cloned_into_cgroup) *cloned_into_cgroup = true;
        // Kernels before 5.7 do not know the flag (EINVAL) or the larger
        // struct (E2BIG): clone as before, the caller moves the child.
        if (r >= 0 || (errno != EINVAL && errno != E2BIG && errno != ENOSYS)) {
            if (r < 0) throw_errno("clone into the container's cgroup");
            return pid_t(r);
        }
        args.flags &= ~CLONE_INTO_CGROUP;
        args.cgroup = 0;
    }
    r = ::syscall(SYS_clone3, &args, kCloneArgsVer0);
    if (r < 0 && errno == ENOSYS) {
        // Kernels before 5.3. CLONE_NEWTIME collides with CSIGNAL here.
        if (flags & CLONE_NEWTIME) throw Error("clone: time namespaces need clone3", ENOSYS);
        // On every architecture but s390 the third argument is parent_tid,
        // where CLONE_PIDFD stores the pidfd.
        r = ::syscall(SYS_clone, flags | CLONE_PIDFD | SIGCHLD, nullptr, pidfd, nullptr, nullptr);
    }
    if (r < 0) throw_errno("clone");
    return pid_t(r);
}

void bring_loopback_up() {
    fs::Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s) throw_errno("loopback: socket");
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) < 0) throw_errno("loopback: read the flags of lo");
    if (ifr.ifr_flags & IFF_UP) return;
    ifr.ifr_flags = short(ifr.ifr_flags | IFF_UP);
    if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) < 0) throw_errno("loopback: bring lo up");
}

void join_namespaces(const oci::Linux& l) {
    // Every path is opened before the first setns: joining the mount namespace
    // changes what /proc/PID/ns/... resolves to. The user namespace goes
    // first (it grants the rights for the others), the mount namespace last.
    struct Join {
        const oci::Namespace* ns;
        fs::Fd fd;
    };
    std::vector<Join> joins;
    for (const auto& ns : l.namespaces) {
        if (ns.path.empty() || ns.type == oci::NamespaceType::pid || ns.type == oci::NamespaceType::time) continue;
        fs::Fd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) throw_errno(ns_what(ns));
        joins.push_back({&ns, std::move(fd)});
    }
    auto rank = [](oci::NamespaceType t) {
        return t == oci::NamespaceType::user ? 0 : t == oci::NamespaceType::mount ? 2 : 1;
    };
    std::stable_sort(joins.begin(), joins.end(),
                     [&](const Join& a, const Join& b) { return rank(a.ns->type) < rank(b.ns->type); });
    for (const auto& j : joins)
        if (::setns(j.fd.get(), clone_flag(j.ns->type)) < 0) throw_errno(ns_what(*j.ns));
}

void write_id_mappings(pid_t pid, const oci::Linux& l) {
    auto render = [](const std::vector<oci::IdMapping>& maps) {
        std::string s;
        for (const auto& m : maps) s += fmt::format("{} {} {}\n", m.container_id, m.host_id, m.size);
        return s;
    };
    std::string proc = fmt::format("/proc/{}/", pid);
    if (!l.uid_mappings.empty()) write_kernel_file(proc + "uid_map", render(l.uid_mappings));
    if (!l.gid_mappings.empty()) write_kernel_file(proc + "gid_map", render(l.gid_mappings));
}

}  // namespace berth::runtime
