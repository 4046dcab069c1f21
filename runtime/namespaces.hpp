// Namespaces: which to create at clone time, which to join, the raw clone and
// the uid/gid maps the parent writes for a new user namespace.
#pragma once
#include <map>
#include <string>
#include <sys/types.h>

#include "common/fs.hpp"
#include "config/oci_spec.hpp"

namespace berth::runtime {

int clone_flag(oci::NamespaceType t);

// CLONE_NEW* for every namespace listed without a path. The cgroup namespace
// is left out: the child unshares it after the parent moved it into its
// cgroup, so that the namespace root is the container's cgroup.
unsigned long clone_namespace_flags(const oci::Linux& l);

// Parent side: pid and time namespaces given by path only apply to children,
// so the parent enters them for the clone and goes back afterwards.
class ChildNamespaceSwitch {
public:
    explicit ChildNamespaceSwitch(const oci::Linux& l);
    ~ChildNamespaceSwitch();  // restores; failures are logged
    ChildNamespaceSwitch(const ChildNamespaceSwitch&) = delete;
    ChildNamespaceSwitch& operator=(const ChildNamespaceSwitch&) = delete;

private:
    fs::Fd own_pid_, own_time_;
};

// fork-like raw clone (clone3, falling back to clone) with CLONE_PIDFD and
// SIGCHLD. Returns 0 in the child, the pid in the parent (pidfd set).
// With a cgroup2 directory fd the child is born in that cgroup
// (CLONE_INTO_CGROUP), which spares moving it there afterwards: a move takes
// the kernel's cgroup migration lock, whose write side waits for an RCU grace
// period (milliseconds). `cloned_into_cgroup` says whether that happened (a
// kernel before 5.7 clones without it).
pid_t clone_process(unsigned long flags, int* pidfd, int cgroup_fd = -1, bool* cloned_into_cgroup = nullptr);

// Child side: join every namespace given by path except pid and time
// (handled by the parent); the user namespace first so that the others are
// joined with its capabilities.
void join_namespaces(const oci::Linux& l);

// Child side, in a network namespace the container created: its loopback
// interface up, as runc and crun leave it, so that 127.0.0.1 answers.
void bring_loopback_up();

// Child side, for linux.timeOffsets (the clone left the time namespace out):
// unshare a time namespace, write its timens_offsets, enter it.
void enter_time_namespace_with_offsets(const std::map<std::string, oci::TimeOffset>& offsets);

// Parent side: writes /proc/<pid>/{uid,gid}_map.
void write_id_mappings(pid_t pid, const oci::Linux& l);

}  // namespace berth::runtime
