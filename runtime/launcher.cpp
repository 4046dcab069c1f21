// Parent side of launch(): clone, id maps, cgroup, release the child, then
// wait for either execve (the report socket closes) or a failure report.
#include "runtime/launcher.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/reap.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "runtime/capabilities.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/child.hpp"
#include "runtime/child_report.hpp"
#include "runtime/cpu_numa.hpp"
#include "runtime/hooks.hpp"
#include "runtime/idmap_mounts.hpp"
#include "runtime/lsm.hpp"
#include "runtime/namespaces.hpp"
#include "runtime/seccomp.hpp"
#include "runtime/seccomp_cache.hpp"
#include "runtime/seccomp_shipped.hpp"

namespace berth::runtime {
namespace {

// Owns the child until launch() succeeds: any exception kills and reaps it so
// a half-configured container never runs.
class ChildGuard {
public:
    ChildGuard(pid_t pid, int pidfd) : pid_(pid), pidfd_(pidfd) {}
    ~ChildGuard() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        reap();
        if (pidfd_ >= 0) ::close(pidfd_);
    }
    void reap() {
        if (pid_ <= 0) return;
        proc::wait_exit(pid_);
        pid_ = -1;
    }
    Process release() {
        Process p{pid_, pidfd_};
        pid_ = -1;
        pidfd_ = -1;
        return p;
    }

private:
    pid_t pid_;
    int pidfd_;
};

[[noreturn]] void fail(const LaunchRequest& req, const std::string& step, const std::string& msg, int err) {
    throw Error(fmt::format("container `{}`: {}: {}", req.id, step, msg), err);
}

template <class F>
void parent_step(const LaunchRequest& req, const char* step, F f) {
    try {
        f();
    } catch (const Error& e) {
        fail(req, step, e.what(), e.code());
    } catch (const std::exception& e) {
        fail(req, step, e.what(), 0);
    }
}

// Reads until the child's end closes: nothing means execve succeeded.
std::optional<ChildReport> read_report(int sock) {
    char buf[4096];
    ssize_t n;
    do {
        n = ::recv(sock, buf, sizeof buf, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw_errno("read child status");
    if (n == 0) return std::nullopt;
    auto r = decode_report(std::string_view(buf, size_t(n)));
    if (!r) return ChildReport{"setup", 0, "malformed report from the container process"};
    return r;
}

bool has_hooks(const oci::Hooks& h) {
    return !h.prestart.empty() || !h.create_runtime.empty() || !h.create_container.empty() ||
           !h.start_container.empty();
}

// Whether the parent has steps to take between the clone and the child's
// setup (so the child must wait for its go message): id maps, moving the
// process into its cgroup, the initial CPU affinity, runtime hooks. Decided
// alike on both sides of the clone.
bool parent_work(const LaunchRequest& req, bool cloned_in) {
    const oci::Linux& l = req.spec->linux_;
    const oci::Process& proc = req.spec->process;
    return l.creates_namespace(oci::NamespaceType::user) ||
           (req.exec && proc.exec_cpu_affinity && !proc.exec_cpu_affinity->initial.empty()) ||
           ((req.cgroup || !req.cgroup_path.empty()) && !cloned_in) || has_hooks(req.spec->hooks);
}

// The bundle's precompiled program when it matches the spec, else the profile
// compiled (through the caches). A program file that is there but refused is
// worth a warning: the image was built for another runtime or edited since.
SeccompProgram seccomp_for_launch(const LaunchRequest& req, const oci::Seccomp& s) {
    ShippedSeccomp shipped = load_shipped_seccomp(req.bundle_dir, s);
    if (shipped.program) return std::move(*shipped.program);
    if (shipped.file_present)
        log::warn("container `{}`: seccomp: precompiled program not used: {}", req.id, shipped.refused);
    const std::uint64_t t0 = log::ms_since_start();
    SeccompProgram p = compile_seccomp_cached(s, req.seccomp_cache_dir);
    if (req.log_seccomp_compile)
        log::info("container `{}`: seccomp: {}; profile compiled (or taken from the cache) in {} ms", req.id,
                  shipped.refused, log::ms_since_start() - t0);
    return p;
}

}  // namespace

Process launch(const LaunchRequest& req) {
    if (!req.spec) throw Error(fmt::format("container `{}`: no spec", req.id), EINVAL);
    const oci::Linux& l = req.spec->linux_;
    std::optional<SeccompProgram> seccomp;
    if (l.seccomp) {
        parent_step(req, "seccomp", [&] { seccomp = seccomp_for_launch(req, *l.seccomp); });
        for (const auto& name : seccomp->skipped)
            log::warn("container `{}`: seccomp: syscall `{}` unknown to this libseccomp, rule skipped", req.id, name);
    }

    // An LSM field the kernel cannot honour fails before anything exists.
    const oci::Process& proc = req.spec->process;
    if (proc.capabilities)
        for (int cap : ambient_not_raisable(*proc.capabilities))
            log::debug("container `{}`: ambient {} not raised: not in the permitted and inheritable sets", req.id,
                       cap_label(cap));
    parent_step(req, "apparmorProfile", [&] { check_lsm_field("process.apparmorProfile", proc.apparmor_profile); });
    parent_step(req, "selinuxLabel", [&] { check_lsm_field("process.selinuxLabel", proc.selinux_label); });
    if (req.before_host_steps) req.before_host_steps();
    IdmappedTrees idmapped;
    if (l.creates_namespace(oci::NamespaceType::mount)) {
        parent_step(req, "mountLabel", [&] { check_lsm_field("linux.mountLabel", l.mount_label); });
        // Before the clone: the child inherits the trees (see idmap_mounts.hpp).
        parent_step(req, "mounts", [&] { idmapped = IdmappedTrees::prepare(req.spec->mounts, req.bundle_dir); });
    }

    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        throw Error(fmt::format("container `{}`: socketpair: {}", req.id, std::strerror(errno)), errno);
    fs::Fd parent_end(sv[0]), child_end(sv[1]);

    // The cgroup is made and configured before the clone so that the child
    // is born in it (see clone_process). The spec's execCPUAffinity.initial
    // applies until the process is in the cgroup, so such an exec is moved
    // in afterwards instead.
    const bool initial_affinity = req.exec && proc.exec_cpu_affinity && !proc.exec_cpu_affinity->initial.empty();
    // PID 1's path (req.cgroup_path, a cgroup v2 directory) too, when this
    // launch made the cgroup: a write to cgroup.procs after the clone waits
    // for the cgroup migration lock (12-14 ms a container in a TCG guest's
    // boot, on the way to ready). A cgroup PID 1 reuses (a restart) may have
    // been emptied with cgroup.kill, and some kernels then kill a process
    // cloned into it at birth (seen on 6.18: SIGKILL from cgroup_post_fork):
    // such a start is moved in after the clone, as before.
    fs::Fd cgroup_dir;
    if (req.cgroup)
        parent_step(req, "cgroup", [&] { cgroup_dir = req.cgroup->prepare(l, l.resources ? &*l.resources : nullptr); });
    else if (!req.cgroup_path.empty())
        parent_step(req, "cgroup", [&] {
            bool created = false;
            fs::Fd dir = prepare_cgroup(req.cgroup_path, l, &created);
            if (created) cgroup_dir = std::move(dir);
        });
    if (initial_affinity) cgroup_dir.reset();

    pid_t pid = -1;
    int pidfd = -1;
    bool cloned_in = false;
    parent_step(req, "clone", [&] {
        ChildNamespaceSwitch for_children(l);
        pid = clone_process(clone_namespace_flags(l), &pidfd, cgroup_dir.get(), &cloned_in);
        if (pid == 0) {
            parent_end.release();  // just forget it: closed by execve (CLOEXEC) or _exit
            run_child(req, seccomp ? &*seccomp : nullptr, idmapped, child_end.get(), parent_work(req, cloned_in));
        }
    });
    ChildGuard guard(pid, pidfd);
    child_end.reset();
    idmapped = {};  // the child has its own copies
    cgroup_dir.reset();

    if (l.creates_namespace(oci::NamespaceType::user))
        parent_step(req, "id mappings", [&] { write_id_mappings(pid, l); });
    // The spec's `initial`: the CPUs the process runs on until it is in the
    // container's cgroup (`final` is the child's, right before execve).
    if (initial_affinity)
        parent_step(req, "execCPUAffinity", [&] {
            set_cpu_affinity(pid, proc.exec_cpu_affinity->initial, "process.execCPUAffinity.initial");
        });
    if (req.cgroup)
        parent_step(req, "cgroup", [&] { req.cgroup->attach(pid, cloned_in); });
    else if (!req.cgroup_path.empty() && !cloned_in)
        parent_step(req, "cgroup", [&] { move_into_cgroup(req.cgroup_path, pid); });

    // The hooks get the state with the host pid; the child's own hooks get it
    // with the go message.
    const oci::Hooks& hooks = req.spec->hooks;
    std::string go(1, '\1');
    if (has_hooks(hooks)) {
        std::string state = hook_state_json(*req.spec, req.id, pid, req.bundle_dir, "creating");
        parent_step(req, "hooks", [&] {
            run_hooks(hooks.prestart, "prestart", state);
            run_hooks(hooks.create_runtime, "createRuntime", state);
        });
        if (!hooks.create_container.empty() || !hooks.start_container.empty()) go = state;
    }
    if (parent_work(req, cloned_in))
        parent_step(req, "start", [&] {
            if (::send(parent_end.get(), go.data(), go.size(), MSG_NOSIGNAL) != ssize_t(go.size()))
                throw_errno("release the container process");
        });

    std::optional<ChildReport> report;
    parent_step(req, "start", [&] { report = read_report(parent_end.get()); });
    if (report) {
        guard.reap();  // it _exits right after reporting
        fail(req, report->step, report->message, report->err);
    }
    return guard.release();
}

}  // namespace berth::runtime
