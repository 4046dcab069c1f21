// `berth exec NAME CMD...`: the client itself enters the container, the way
// `nsenter` would, then applies the container's own process settings from its
// config.json: cgroup, namespaces, identity, capabilities, no_new_privs and
// seccomp, in the order the runtime uses. Nothing in PID 1 is involved beyond
// telling where the container is.
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "config/oci_spec.hpp"
#include "ctl/ctl.hpp"
#include "ctl/ctl_client.hpp"
#include "runtime/capabilities.hpp"
#include "runtime/cpu_numa.hpp"
#include "runtime/lsm.hpp"
#include "runtime/process.hpp"
#include "runtime/sched_attrs.hpp"
#include "runtime/seccomp.hpp"
#include "runtime/user.hpp"

namespace berth::ctl {

namespace {

// Namespaces in the order nsenter joins them: user first, mount last.
constexpr std::pair<const char*, int> kNamespaces[] = {
    {"user", CLONE_NEWUSER}, {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
    {"net", CLONE_NEWNET},   {"pid", CLONE_NEWPID},       {"mnt", CLONE_NEWNS}};

void join_cgroup_of(pid_t pid) {
    std::string text = fs::read_file("/proc/" + std::to_string(pid) + "/cgroup");
    auto at = text.find("0::");
    if (at == std::string::npos) return;  // no cgroup2: nothing to join
    std::string rel = text.substr(at + 3, text.find('\n', at) - at - 3);
    fs::write_file("/sys/fs/cgroup" + rel + "/cgroup.procs", std::to_string(::getpid()));
}

[[noreturn]] void enter(pid_t pid, const oci::Spec& spec, char** argv) {
    try {
        std::vector<std::pair<fs::Fd, int>> ns;
        for (auto [name, flag] : kNamespaces) {
            std::string theirs = "/proc/" + std::to_string(pid) + "/ns/" + name;
            struct stat a{}, b{};
            if (::stat(theirs.c_str(), &a) < 0) continue;  // not supported by the kernel
            if (::stat(("/proc/self/ns/" + std::string(name)).c_str(), &b) == 0 && a.st_ino == b.st_ino) continue;
            fs::Fd fd(::open(theirs.c_str(), O_RDONLY | O_CLOEXEC));
            if (!fd) throw_errno("open " + theirs);
            ns.emplace_back(std::move(fd), flag);
        }
        const auto& proc = spec.process;
        // As runc exec: `initial` before joining the cgroup, `final` at the end.
        if (proc.exec_cpu_affinity && !proc.exec_cpu_affinity->initial.empty())
            runtime::set_cpu_affinity(0, proc.exec_cpu_affinity->initial, "process.execCPUAffinity.initial");
        runtime::check_lsm_field("process.apparmorProfile", proc.apparmor_profile);
        runtime::check_lsm_field("process.selinuxLabel", proc.selinux_label);
        join_cgroup_of(pid);
        for (auto& [fd, flag] : ns)
            if (::setns(fd.get(), flag) < 0) throw_errno("setns");
        // The pid namespace applies to children: fork once more.
        pid_t child = ::fork();
        if (child < 0) throw_errno("fork");
        if (child > 0) {
            int st = 0;
            while (::waitpid(child, &st, 0) < 0 && errno == EINTR) {}
            ::_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
        }
        // By the process that will exec (the kernel lets a task write only its
        // own attributes), through the container's /proc.
        runtime::ExecLabels labels;
        labels.open(proc);
        runtime::Identity id = runtime::resolve_identity_in_container(proc.user);
        std::optional<runtime::SeccompProgram> filter;
        if (spec.linux_.seccomp) filter = runtime::compile_seccomp(*spec.linux_.seccomp);
        if (filter && !proc.no_new_privileges) runtime::load_seccomp(*filter);
        // As the container's own process has them; before capabilities drop.
        if (proc.io_priority) runtime::set_io_priority(*proc.io_priority);
        if (proc.scheduler) runtime::set_scheduler(*proc.scheduler);
        if (spec.linux_.memory_policy) runtime::set_memory_policy(*spec.linux_.memory_policy);
        oci::Capabilities none;
        const oci::Capabilities& caps = proc.capabilities ? *proc.capabilities : none;
        runtime::drop_bounding(caps.bounding);
        runtime::keep_caps(true);
        runtime::switch_identity(id);
        runtime::apply_caps(caps);
        runtime::keep_caps(false);
        if (proc.no_new_privileges) runtime::set_no_new_privs();
        if (::chdir(proc.cwd.c_str()) < 0) ::chdir("/");
        std::vector<std::string> args;
        for (char** a = argv; *a; ++a) args.push_back(*a);
        if (proc.exec_cpu_affinity)
            runtime::set_cpu_affinity(0, proc.exec_cpu_affinity->final, "process.execCPUAffinity.final");
        labels.apply();
        if (filter && proc.no_new_privileges) runtime::load_seccomp(*filter);
        if (spec.linux_.personality) runtime::set_personality(*spec.linux_.personality);
        runtime::exec_process(args, runtime::build_env(proc.env, id.home));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "berth exec: %s\n", e.what());
        ::_exit(126);
    }
}

}  // namespace

int ctl_exec(const char* socket_path, int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: berth exec NAME CMD [ARG...]\n");
        return 2;
    }
    try {
        CtlConnection conn(socket_path);
        auto reply = conn.request({{"cmd", "status"}, {"name", argv[0]}});
        if (!reply.value("ok", false)) throw Error(reply.value("error", "status failed"));
        const auto& c = reply["container"];
        pid_t pid = c.value("pid", -1);
        if (pid <= 0 || c.value("state", "") != "running") throw Error(std::string(argv[0]) + " is not running");
        oci::Spec spec = oci::load_bundle(c.value("bundle", ""));
        // Fork so that this process stays outside and reports the status.
        pid_t child = ::fork();
        if (child < 0) throw_errno("fork");
        if (child == 0) enter(pid, spec, argv + 1);
        int st = 0;
        while (::waitpid(child, &st, 0) < 0 && errno == EINTR) {}
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "berth exec: %s\n", e.what());
        return 126;
    }
}

}  // namespace berth::ctl
