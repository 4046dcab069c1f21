#include "runtime-cli/mount_ns_release.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

namespace berth::runc {
namespace {

// The holder runs on this stack, in this process's memory (CLONE_VM: no copy
// of the page tables, and this process's own exit then leaves the address
// space to the holder to free). It makes raw system calls only: it shares
// this process's thread pointer, so nothing of libc's per-thread state.
alignas(64) char holder_stack[16 * 1024];

struct HolderArgs {
    int ns_fd;
    pid_t runtime;
};
HolderArgs holder_args;

int holder(void*) {
    const HolderArgs a = holder_args;
    ::syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    // The runtime may have exited before the line above: then nobody kills us.
    if (::syscall(SYS_getppid) != a.runtime) ::syscall(SYS_exit, 0);
    // Nothing but the namespace: the container's stdio must reach EOF when
    // the runtime exits, whoever reads it.
    if (a.ns_fd > 0) ::syscall(SYS_close_range, 0u, unsigned(a.ns_fd - 1), 0u);
    ::syscall(SYS_close_range, unsigned(a.ns_fd + 1), ~0u, 0u);
    // The runtime's forwarded signals stay blocked (inherited mask): only the
    // SIGKILL of PR_SET_PDEATHSIG ends the wait.
    for (;;) ::syscall(SYS_ppoll, nullptr, 0, nullptr, nullptr, 0);
}

}  // namespace

void defer_mount_ns_release(pid_t container) {
    const std::string path = "/proc/" + std::to_string(container) + "/ns/mnt";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    holder_args = {fd, ::getpid()};
    // SIGCHLD: the holder is reaped by whoever inherits it (it outlives us).
    ::clone(holder, holder_stack + sizeof holder_stack, CLONE_VM | SIGCHLD, nullptr);
    ::close(fd);
}

}  // namespace berth::runc
