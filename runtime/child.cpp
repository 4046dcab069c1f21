#include "runtime/child.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "runtime/capabilities.hpp"
#include "runtime/child_report.hpp"
#include "runtime/cpu_numa.hpp"
#include "runtime/lsm.hpp"
#include "runtime/dev_nodes.hpp"
#include "runtime/hooks.hpp"
#include "runtime/mounts.hpp"
#include "runtime/namespaces.hpp"
#include "runtime/process.hpp"
#include "runtime/rootfs.hpp"
#include "runtime/sched_attrs.hpp"
#include "runtime/system.hpp"
#include "runtime/terminal.hpp"
#include "runtime/user.hpp"

namespace berth::runtime {
namespace {

using oci::NamespaceType;

// Blocks until the parent has written the id maps, joined the cgroup and run
// the runtime hooks. The message is the state JSON for the container's own
// hooks, or a single byte when there are none.
std::string wait_for_parent(int sock) {
    std::string buf(64 * 1024, '\0');
    ssize_t n;
    do {
        n = ::recv(sock, buf.data(), buf.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw_errno("wait for parent");
    if (n == 0) ::_exit(127);  // the parent gave up on us: nothing to report to
    buf.resize(size_t(n));
    return buf;
}

// In a new user namespace become its root, so that what follows (mounts,
// hostname) runs with the namespace's full capabilities and owner ids.
void become_ns_root(const oci::Linux& l) {
    auto maps_zero = [](const std::vector<oci::IdMapping>& m) {
        for (const auto& e : m)
            if (e.container_id == 0 && e.size > 0) return true;
        return false;
    };
    if (maps_zero(l.gid_mappings) && ::setresgid(0, 0, 0) < 0) throw_errno("setresgid(0)");
    if (maps_zero(l.uid_mappings) && ::setresuid(0, 0, 0) < 0) throw_errno("setresuid(0)");
}

std::string rootfs_path(const LaunchRequest& req) {
    const std::string& p = req.spec->root.path;
    std::string full = p[0] == '/' ? p : fs::join(req.bundle_dir, p);
    char buf[PATH_MAX];
    if (!::realpath(full.c_str(), buf)) throw_errno("rootfs `" + full + "`");
    return buf;
}

struct Child {
    const LaunchRequest& req;
    const oci::Spec& spec;
    const SeccompProgram* seccomp;
    const IdmappedTrees& idmapped;
    int sock;
    bool wait_for_go;
    const char* step = "sync";

    void run() {
        const oci::Linux& l = spec.linux_;
        const oci::Process& proc = spec.process;
        const std::string state = wait_for_go ? wait_for_parent(sock) : std::string(1, '\1');

        step = "signals";
        reset_signals();
        step = "stdio";
        // Opened now: the container may have no /dev/null of its own.
        fs::Fd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
        if (!devnull) throw_errno("open `/dev/null`");

        // Connected before any namespace is joined: the socket's path is the
        // engine's, on the host (exec joins the container's mount namespace).
        fs::Fd console;
        if (proc.terminal && !req.console_socket.empty()) {
            step = "console socket";
            console.reset(connect_console_socket(req.console_socket));
        }

        step = "namespaces";
        if (l.creates_namespace(NamespaceType::user)) become_ns_root(l);
        join_namespaces(l);
        if (l.creates_namespace(NamespaceType::network)) {
            step = "loopback";
            bring_loopback_up();
            step = "namespaces";
        }
        if (l.creates_namespace(NamespaceType::cgroup) && ::unshare(CLONE_NEWCGROUP) < 0)
            throw_errno("unshare cgroup namespace");
        if (!l.time_offsets.empty()) {
            step = "timeOffsets";
            enter_time_namespace_with_offsets(l.time_offsets);
        }

        // Through the host's /proc, before the root changes.
        if (proc.oom_score_adj) {
            step = "oom_score_adj";
            set_oom_score_adj(*proc.oom_score_adj);
        }
        step = "rlimits";
        apply_rlimits(proc.rlimits);
        // Before the capability steps: raising either may need CAP_SYS_NICE
        // or CAP_SYS_ADMIN, which the container may not keep.
        if (proc.io_priority) {
            step = "ioPriority";
            set_io_priority(*proc.io_priority);
        }
        if (proc.scheduler) {
            step = "scheduler";
            set_scheduler(*proc.scheduler);
        }
        // Set before the mounts so the setup's own allocations follow it too.
        if (l.memory_policy) {
            step = "memoryPolicy";
            set_memory_policy(*l.memory_policy);
        }
        // Through the host's /proc: the container may have none.
        ExecLabels labels;
        if (!proc.apparmor_profile.empty() || !proc.selinux_label.empty()) {
            step = proc.apparmor_profile.empty() ? "selinuxLabel" : "apparmorProfile";
            labels.open(proc, 3 + req.preserve_fds);
        }

        if (l.creates_namespace(NamespaceType::mount)) {
            step = "rootfs";
            const std::string rootfs = rootfs_path(req);
            prepare_rootfs(rootfs, l.rootfs_propagation);
            step = "mounts";
            do_mounts({rootfs, req.bundle_dir, l.find_namespace(NamespaceType::user) != nullptr, &idmapped,
                       l.mount_label, l.creates_namespace(NamespaceType::cgroup)},
                      spec.mounts);
            step = "devices";
            if (dev_is_tmpfs(spec.mounts))
                setup_dev(rootfs, l.devices,
                          l.find_namespace(NamespaceType::user) != nullptr || dev_is_nodev(spec.mounts));
            create_device_nodes(rootfs, l.devices, l.find_namespace(NamespaceType::user) != nullptr);
            step = "hooks";
            run_hooks(spec.hooks.create_container, "createContainer", state);
            step = "pivot_root";
            enter_rootfs(rootfs);
            finish_propagation(l.rootfs_propagation);
            // A working directory that does not exist yet (`podman run -w` into
            // a tmpfs or a volume) is made, as runc and crun do: inside the new
            // root, before it or any path is made read-only.
            step = "cwd";
            if (proc.cwd != "/" && !fs::is_dir(proc.cwd)) fs::mkdir_p(proc.cwd, 0755);
        }
        // With a joined mount namespace the root is that namespace's; with
        // none listed, the runtime's (the spec lets the container inherit it).

        step = "sysctl";
        apply_sysctl(l.sysctl);
        if (l.creates_namespace(NamespaceType::mount)) {
            step = "masked paths";
            mask_paths(l.masked_paths);
            step = "readonly paths";
            readonly_paths(l.readonly_paths);
            if (spec.root.readonly) {
                step = "readonly root";
                readonly_root();
            }
        }

        step = "hostname";
        set_hostname(spec.hostname, spec.domainname);

        step = "user";
        Identity id = resolve_identity_in_container(proc.user);

        step = "setsid";
        if (::setsid() < 0) throw_errno("setsid");
        StdioFds stdio = req.stdio;
        fs::Fd pty;
        if (console) {
            step = "terminal";
            pty.reset(open_pty_and_send_master(console.get(), proc.console_size));
            console.reset();
            stdio = {pty.get(), pty.get(), pty.get()};
        }
        step = "stdio";
        std::vector<int> keep = labels.fds();
        keep.push_back(sock);
        keep.push_back(req.exec_fifo_fd);
        setup_stdio(stdio, devnull.get(), keep, req.preserve_fds);
        pty.release();  // closed by setup_stdio
        devnull.reset();
        if (proc.terminal && ::isatty(0) && ::ioctl(0, TIOCSCTTY, 0) < 0) throw_errno("set controlling terminal");

        oci::Capabilities none;
        const oci::Capabilities& caps = proc.capabilities ? *proc.capabilities : none;
        // Without no_new_privs loading a filter needs CAP_SYS_ADMIN, which the
        // capability steps below may drop: load it now, as crun does.
        if (seccomp && !proc.no_new_privileges) {
            step = "seccomp";
            load_seccomp(*seccomp);
        }
        step = "capabilities";
        drop_bounding(caps.bounding);
        keep_caps(true);
        step = "user";
        switch_identity(id);
        step = "capabilities";
        apply_caps(caps);
        keep_caps(false);
        if (proc.no_new_privileges) {
            step = "no_new_privileges";
            set_no_new_privs();
        }

        ::umask(proc.user.umask.value_or(022));
        step = "cwd";
        if (::chdir(proc.cwd.c_str()) < 0) throw_errno("cannot change directory to `" + proc.cwd + "`");
        if (req.exec_fifo_fd >= 0) {
            // Checked while create still waits for our report: a container
            // that could never start must fail create, not start.
            step = "exec";
            check_executable(proc.args.at(0), build_env(proc.env, id.home));
            step = "exec fifo";
            check_fifo_writable(req.exec_fifo_fd);
            park_until_started(req.exec_fifo_fd);
        }
        if (!spec.hooks.start_container.empty()) {
            step = "hooks";
            run_hooks(spec.hooks.start_container, "startContainer", state);
        }
        if (req.exec && proc.exec_cpu_affinity) {
            step = "execCPUAffinity";
            set_cpu_affinity(0, proc.exec_cpu_affinity->final, "process.execCPUAffinity.final");
        }
        // The kernel switches profile or label at execve; written before the
        // filter, which may refuse the write.
        if (!proc.apparmor_profile.empty() || !proc.selinux_label.empty()) {
            step = proc.apparmor_profile.empty() ? "selinuxLabel" : "apparmorProfile";
            labels.apply();
        }
        // Last, so the filter constrains only the container's own program.
        if (seccomp && proc.no_new_privileges) {
            step = "seccomp";
            load_seccomp(*seccomp);
        }

        if (l.personality) {
            step = "personality";
            set_personality(*l.personality);
        }
        step = "exec";
        exec_process(proc.args, build_env(proc.env, id.home));
    }

    void check_fifo_writable(int fifo) {
        std::string self = "/proc/self/fd/" + std::to_string(fifo);
        if (::faccessat(AT_FDCWD, self.c_str(), W_OK, AT_EACCESS) < 0)
            throw_errno("cannot open the exec fifo for writing through `" + self +
                        "` (is /proc mounted, may the container's user write it?)");
    }

    // Closing the report socket tells launch() the setup is done; opening the
    // FIFO for writing then blocks until `start` opens it for reading.
    //
    // While it waits, a terminating signal ends it, as `runc kill` ends a
    // created container (podman stops one that was never started with
    // SIGTERM). With the default action the kernel would drop the signal:
    // this process is the init of its pid namespace. Handlers do not survive
    // the execve; the dispositions go back to the default before it anyway.
    static constexpr int kParkedStops[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM};
    static void exit_parked(int sig) { ::_exit(128 + sig); }
    static void set_parked_handlers(void (*handler)(int)) {
        struct sigaction sa{};
        sa.sa_handler = handler;
        sigemptyset(&sa.sa_mask);
        for (int sig : kParkedStops)
            if (::sigaction(sig, &sa, nullptr) < 0) throw_errno(fmt::format("set the handler of signal {}", sig));
    }
    void park_until_started(int fifo) {
        set_parked_handlers(exit_parked);
        ::close(sock);
        sock = -1;
        std::string self = "/proc/self/fd/" + std::to_string(fifo);
        int fd;
        do {
            fd = ::open(self.c_str(), O_WRONLY | O_CLOEXEC);
        } while (fd < 0 && errno == EINTR);
        if (fd < 0) throw_errno("open the exec fifo through `" + self + "` (is /proc mounted?)");
        ssize_t n;
        do {
            n = ::write(fd, "0", 1);
        } while (n < 0 && errno == EINTR);
        if (n != 1) throw_errno("write the exec fifo");
        ::close(fd);
        ::close(fifo);
        set_parked_handlers(SIG_DFL);
    }

    void report(int err, const std::string& message) noexcept {
        if (sock < 0) {
            // Parked and started: nobody waits for a report, tell the container's stderr.
            try {
                std::string line = "berth: container `" + req.id + "`: " + step + ": " + message + "\n";
                ssize_t ignored = ::write(2, line.data(), line.size());
                (void)ignored;
            } catch (...) {
            }
            return;
        }
        try {
            std::string msg = encode_report({step, err, message});
            ssize_t n;
            do {
                n = ::send(sock, msg.data(), msg.size(), MSG_NOSIGNAL);
            } while (n < 0 && errno == EINTR);
        } catch (...) {
            // Out of memory: the parent still sees the exit without exec.
        }
    }
};

}  // namespace

void run_child(const LaunchRequest& req, const SeccompProgram* seccomp, const IdmappedTrees& idmapped,
               int sock, bool wait_for_go) noexcept {
    Child c{req, *req.spec, seccomp, idmapped, sock, wait_for_go};
    try {
        c.run();
    } catch (const Error& e) {
        c.report(e.code(), e.what());
    } catch (const std::exception& e) {
        c.report(0, e.what());
    } catch (...) {
        c.report(0, "unknown error");
    }
    ::_exit(127);
}

}  // namespace berth::runtime
