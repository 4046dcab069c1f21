// `berth exec NAME CMD...`: one more process in a running service, started by
// the runtime's one launcher (runtime/launcher.hpp) from the service's own
// config.json turned into a join-only spec (runtime/exec_spec.hpp): its
// namespaces and cgroup joined, and the process fields (rlimits, umask,
// oomScoreAdj, setsid, fd closing, identity, capabilities, no_new_privs,
// seccomp, execCPUAffinity) applied by the same code as for the service's own
// process, as `berth-runc exec` does. PID 1 is only asked where the service is.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "common/error.hpp"
#include "common/reap.hpp"
#include "config/oci_spec.hpp"
#include "ctl/ctl.hpp"
#include "ctl/ctl_client.hpp"
#include "runtime/exec_spec.hpp"
#include "runtime/launcher.hpp"

namespace berth::ctl {

namespace {

struct Target {
    pid_t pid = -1;
    std::string bundle;
};

Target find_running(const char* socket_path, const std::string& name) {
    CtlConnection conn(socket_path);
    auto reply = conn.request({{"cmd", "status"}, {"name", name}});
    if (!reply.value("ok", false)) throw Error(reply.value("error", "status failed"));
    const auto& c = reply["container"];
    Target t{c.value("pid", -1), c.value("bundle", "")};
    if (t.pid <= 0 || c.value("state", "") != "running") throw Error(name + " is not running");
    return t;
}

// The process runs in a session of its own (the launcher's setsid): the
// signals a terminal or a caller sends to `berth exec` are passed on to it.
int wait_forwarding(pid_t pid, const sigset_t& forwarded) {
    for (;;) {
        if (auto status = proc::try_reap(pid))
            return WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + WTERMSIG(*status);
        siginfo_t info{};
        int sig = ::sigwaitinfo(&forwarded, &info);
        if (sig > 0 && sig != SIGCHLD) ::kill(pid, sig);
    }
}

}  // namespace

int ctl_exec(const char* socket_path, int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: berth exec NAME CMD [ARG...]\n");
        return 2;
    }
    try {
        Target t;
        oci::Spec ex;
        // Finding the container and its bundle: a failure here is "could not
        // enter" (126) whatever its errno; only the command's own lookup is 127.
        try {
            t = find_running(socket_path, argv[0]);
            oci::Spec base = oci::load_bundle(t.bundle);
            oci::Process p = base.process;
            p.args.assign(argv + 1, argv + argc);
            p.terminal = false;  // stdio is the caller's
            p.console_size.reset();
            ex = runtime::exec_spec(base, std::move(p), t.pid);
        } catch (const Error& e) {
            std::fprintf(stderr, "berth exec: %s%s\n", e.what(),
                         e.code() == ENOENT && !t.bundle.empty()
                             ? " (berth exec reads the container's bundle: from a container, bind /containers too)"
                             : "");
            return 126;
        }

        runtime::LaunchRequest req;
        req.id = argv[0];
        req.bundle_dir = t.bundle;
        req.spec = &ex;
        req.exec = true;
        req.stdio = {0, 1, 2};
        req.cgroup_path = runtime::cgroup_dir_of(t.pid);

        sigset_t forwarded, old;
        sigemptyset(&forwarded);
        for (int s : {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH}) sigaddset(&forwarded, s);
        ::sigprocmask(SIG_BLOCK, &forwarded, &old);
        runtime::Process proc;
        try {
            proc = runtime::launch(req);
        } catch (...) {
            ::sigprocmask(SIG_SETMASK, &old, nullptr);
            throw;
        }
        ::close(proc.pidfd);
        int code = wait_forwarding(proc.pid, forwarded);
        ::sigprocmask(SIG_SETMASK, &old, nullptr);
        return code;
    } catch (const Error& e) {
        std::fprintf(stderr, "berth exec: %s\n", e.what());
        return e.code() == ENOENT ? 127 : 126;  // as a shell reports a missing program
    } catch (const std::exception& e) {
        std::fprintf(stderr, "berth exec: %s\n", e.what());
        return 126;
    }
}

}  // namespace berth::ctl
