#include "runtime-cli/container_ops.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <optional>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/hooks.hpp"

namespace berth::runc {

fs::Fd open_pidfd(const State& st) {
    fs::Fd fd(int(::syscall(SYS_pidfd_open, st.pid, 0)));
    if (!fd) return fd;
    // Checked after opening: from here the pidfd pins the process we verified.
    auto ps = proc_stat(st.pid);
    if (!ps || ps->start_time != st.start_time) return {};
    return fd;
}

namespace {

void sleep_ms(int ms) {
    timespec ts{ms / 1000, (ms % 1000) * 1000000L};
    ::nanosleep(&ts, nullptr);
}

}  // namespace

oci::Spec load_saved_spec(const Store& store, const State& st) {
    return oci::load_bundle(store.dir(st.id));
}

std::unique_ptr<runtime::ContainerCgroup> cgroup_of(const State& st) {
    if (st.cgroup.empty()) return nullptr;
    return runtime::container_cgroup(runtime::cgroup_host(), st.cgroup);
}

void check_terminal(const oci::Spec& spec, const std::string& console_socket, bool foreground) {
    if (spec.process.terminal && console_socket.empty() && !foreground)
        throw Error("process.terminal is true: --console-socket is required (in the background)", EINVAL);
    if (!spec.process.terminal && !console_socket.empty())
        throw Error("--console-socket given but process.terminal is false", EINVAL);
}

// "container not running" is the phrase containerd's shim and runc's users
// match to tell an ended container from a failure (the shim turns it into
// NotFound, which CRI treats as stopped).
void signal_container(const Store& store, const State& st, int sig, bool all) {
    Status s = store.status(st);
    const bool live = s == Status::created || s == Status::running || s == Status::paused;
    const bool thaw = sig == SIGKILL && s == Status::paused;
    auto cg = all || thaw ? cgroup_of(st) : nullptr;
    // --all reaches what is left in the cgroup after the init ended too (a
    // container without a pid namespace of its own leaves its children), as
    // runc does: containerd kills them so on every task exit.
    if (cg && all)
        for (pid_t p : cg->pids())
            if (p != st.pid) ::kill(p, sig);
    if (!live) {
        if (all) return;
        throw Error(fmt::format("container not running: `{}` is {}", st.id, status_name(s)), ESRCH);
    }
    fs::Fd fd = open_pidfd(st);
    if (!fd) throw Error(fmt::format("container not running: `{}` has ended", st.id), ESRCH);
    if (::syscall(SYS_pidfd_send_signal, fd.get(), sig, nullptr, 0) < 0)
        throw_errno(fmt::format("send signal {} to container `{}`", sig, st.id));
    // A paused (frozen) container does not die of SIGKILL until thawed: engines
    // kill paused tasks (ctr task rm -f) and wait for them to exit.
    if (cg && thaw) cg->set_frozen(false);
}

namespace {
void forwarded(sigset_t* set) {
    sigemptyset(set);
    for (int s : {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH}) sigaddset(set, s);
}
}  // namespace

sigset_t forwarded_signals() {
    sigset_t set;
    forwarded(&set);
    return set;
}

void block_forwarded_signals(sigset_t* old) {
    sigset_t set;
    forwarded(&set);
    ::sigprocmask(SIG_BLOCK, &set, old);
}

int wait_forwarding(pid_t pid) {
    sigset_t set;
    forwarded(&set);
    for (;;) {
        int status = 0;
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
        if (r < 0 && errno != EINTR) throw_errno("wait for the container");
        siginfo_t info{};
        int sig = ::sigwaitinfo(&set, &info);
        if (sig > 0 && sig != SIGCHLD) ::kill(pid, sig);
    }
}

void run_hooks_warning(const std::vector<oci::Hook>& hooks, const char* phase, const std::string& id,
                       const std::string& state_json) {
    for (std::size_t i = 0; i < hooks.size(); ++i) {
        try {
            runtime::run_hooks({hooks[i]}, phase, state_json);
        } catch (const std::exception& e) {
            // run_hooks numbers the one hook it was given [0]; name the real index.
            std::string why = e.what();
            const std::string prefix = fmt::format("hooks.{}[0] `{}`: ", phase, hooks[i].path);
            if (why.rfind(prefix, 0) == 0) why.erase(0, prefix.size());
            log::warn("container `{}`: hooks.{}[{}] `{}`: {} (a warning only: the remaining hooks still run)", id,
                      phase, i, hooks[i].path, why);
        }
    }
}

void run_hooks_poststart(const Store& store, const State& st, const oci::Spec* in_memory) {
    std::optional<oci::Spec> loaded;
    if (!in_memory) loaded = load_saved_spec(store, st);
    const oci::Spec& spec = in_memory ? *in_memory : *loaded;
    if (spec.hooks.poststart.empty()) return;
    // Poststart runs once the user process has been started, so the state says
    // `running` by definition, whatever the process has done since (it may have
    // exited already: its status is not read here).
    run_hooks_warning(spec.hooks.poststart, "poststart", st.id,
                      runtime::hook_state_json(spec, st.id, st.pid, st.bundle, "running"));
}

void destroy(const Store& store, const State& st, const oci::Spec* in_memory) {
    // Everything in the cgroup goes, not just the main process: a daemon that
    // forked away must not outlive its container.
    fs::Fd main = open_pidfd(st);
    auto cgroup = cgroup_of(st);
    // The main process gone (as after run, which reaped it): when nothing else
    // is left in the cgroup one rmdir is all there is to do, no thaw to check
    // and no list to read. A cgroup still busy (a process that left the
    // container's pid namespace, a frozen one, a child cgroup) refuses the
    // rmdir and goes the long way below.
    bool removed = false;
    if (!main && cgroup) try {
            cgroup->remove(0);
            removed = true;
        } catch (const std::exception&) {
        }
    // A frozen (v1 freezer) task does not die of SIGKILL until thawed.
    if (cgroup && !removed) try {
            cgroup->set_frozen(false);
        } catch (const std::exception&) {
        }
    for (int waited = 0; !removed; waited += 20) {
        bool any = false;
        if (cgroup)
            for (pid_t p : cgroup->pids()) {
                ::kill(p, SIGKILL);
                any = true;
            }
        if (main) {
            ::syscall(SYS_pidfd_send_signal, main.get(), SIGKILL, nullptr, 0);
            pollfd p{main.get(), POLLIN, 0};
            if (::poll(&p, 1, 0) == 1) main.reset();  // exited (a zombie counts)
            else any = true;
        }
        if (!any) break;
        if (waited >= 5000) throw Error(fmt::format("container `{}`: processes survive SIGKILL after 5 s", st.id), EBUSY);
        if (main) {
            // Woken the moment the main process exits, not at the next tick.
            pollfd p{main.get(), POLLIN, 0};
            ::poll(&p, 1, 20);
        } else {
            sleep_ms(20);
        }
    }
    if (cgroup && !removed) cgroup->remove();
    try {
        std::optional<oci::Spec> loaded;
        if (!in_memory) loaded = load_saved_spec(store, st);
        const oci::Spec& spec = in_memory ? *in_memory : *loaded;
        run_hooks_warning(spec.hooks.poststop, "poststop", st.id,
                          runtime::hook_state_json(spec, st.id, st.pid, st.bundle, "stopped"));
    } catch (const std::exception& e) {
        log::warn("container `{}`: {}", st.id, e.what());
    }
    store.remove(st.id);
}

}  // namespace berth::runc
