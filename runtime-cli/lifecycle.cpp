// create, start, run: from a bundle to a parked or running container.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "config/oci_spec.hpp"
#include "runtime-cli/args.hpp"
#include "runtime-cli/commands.hpp"
#include "runtime-cli/console_relay.hpp"
#include "runtime-cli/container_ops.hpp"
#include "runtime-cli/mount_ns_release.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/launcher.hpp"

namespace berth::runc {
namespace {

const std::vector<OptionSpec> kCreateOptions = {
    {"bundle", 'b', true},          {"pid-file", 0, true},     {"console-socket", 0, true},
    {"preserve-fds", 0, true},      {"no-pivot", 0, false},    {"no-new-keyring", 0, false}};

std::vector<OptionSpec> run_options() {
    auto o = kCreateOptions;
    o.push_back({"detach", 'd', false});
    o.push_back({"keep", 0, false});
    return o;
}

std::string realpath_of(const std::string& p, const char* what) {
    char buf[PATH_MAX];
    if (!::realpath(p.c_str(), buf)) throw_errno(fmt::format("{} `{}`", what, p));
    return buf;
}

void write_pid_file(const std::string& path, pid_t pid) {
    if (path.empty()) return;
    // Written whole then renamed: an engine polling the file never reads half a pid.
    std::string tmp = path + ".tmp";
    fs::write_file(tmp, std::to_string(pid), 0644);
    if (::rename(tmp.c_str(), path.c_str()) < 0) throw_errno(fmt::format("pid file `{}`", path));
}

int preserve_fds(const Args& a) {
    std::string v = a.get("preserve-fds", "0");
    char* end = nullptr;
    long n = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end || n < 0 || n > 1024)
        throw UsageError(fmt::format("--preserve-fds `{}`: expected a count of file descriptors (0 to 1024)", v));
    return int(n);
}

// Removes what a failed create left behind.
class CreateGuard {
public:
    CreateGuard(const Store& s, std::string id) : store_(s), id_(std::move(id)) {}
    ~CreateGuard() {
        if (armed_) try {
                store_.remove(id_);
            } catch (...) {
            }
    }
    void disarm() { armed_ = false; }

private:
    const Store& store_;
    std::string id_;
    bool armed_ = true;
};

// The host id of the container's id 0 (0 without a mapping for it).
unsigned container_root_on_host(const std::vector<oci::IdMapping>& maps) {
    for (const auto& m : maps)
        if (m.container_id == 0 && m.size > 0) return unsigned(m.host_id);
    return 0;
}

// Removes the cgroup directories of a failed create (the process is gone:
// launch() reaps it on failure).
class CgroupGuard {
public:
    explicit CgroupGuard(const runtime::ContainerCgroup* cg) : cg_(cg) {}
    ~CgroupGuard() {
        if (cg_) try {
                cg_->remove(200);
            } catch (...) {
            }
    }
    void disarm() { cg_ = nullptr; }

private:
    const runtime::ContainerCgroup* cg_;
};

struct Created {
    State state;
    runtime::Process process;
    oci::Spec spec;  // as saved in the state directory
};

// Everything create and run share. With `park` the process waits on the exec
// FIFO and the container is `created`; without, it runs at once.
// `relay`: for a foreground run, where a terminal without --console-socket is
// relayed by berth-runc itself (made here when the spec asks for one).
Created create_container(const Context& c, const Args& a, const std::string& id, bool park,
                         std::unique_ptr<ConsoleRelay>* relay = nullptr) {
    const std::string bundle = realpath_of(a.get("bundle", "."), "bundle");
    Created out;
    std::string config_text;  // kept in the state directory below, as read
    out.spec = oci::load_bundle(bundle, &config_text);
    const oci::Spec& spec = out.spec;
    if (a.has("console-socket") || spec.process.terminal) check_terminal(spec, a.get("console-socket"), relay != nullptr);

    c.store.create_dir(id);
    CreateGuard guard(c.store, id);
    // Kept for start, exec and delete: the bundle may change or go after create.
    fs::write_file(c.store.spec_copy(id), config_text, 0600);

    fs::Fd fifo;
    if (park) {
        const std::string f = c.store.fifo(id);
        if (::mkfifo(f.c_str(), 0622) < 0) throw_errno(fmt::format("create exec fifo `{}`", f));
        // Writable by whatever user the process becomes (as runc's), owned by
        // the container's root so that a user namespace's root may open it.
        if (::chmod(f.c_str(), 0622) < 0) throw_errno(fmt::format("chmod exec fifo `{}`", f));
        if (::chown(f.c_str(), container_root_on_host(spec.linux_.uid_mappings),
                    container_root_on_host(spec.linux_.gid_mappings)) < 0)
            throw_errno(fmt::format("chown exec fifo `{}`", f));
        fifo.reset(::open(f.c_str(), O_PATH | O_CLOEXEC));
        if (!fifo) throw_errno(fmt::format("open exec fifo `{}`", f));
    }

    runtime::LaunchRequest req;
    req.id = id;
    req.bundle_dir = bundle;
    req.spec = &spec;
    req.stdio = {0, 1, 2};
    req.exec_fifo_fd = fifo.get();
    req.preserve_fds = preserve_fds(a);
    req.console_socket = a.get("console-socket");
    if (relay && spec.process.terminal && req.console_socket.empty()) {
        *relay = std::make_unique<ConsoleRelay>(c.store.root());
        req.console_socket = (*relay)->path();
    }
    req.seccomp_cache_dir = fs::join(c.store.root(), ".seccomp-cache");
    const runtime::CgroupHost& host = runtime::cgroup_host();
    const std::string cgroup_path = runtime::resolve_cgroups_path(spec.linux_.cgroups_path, id);
    auto cgroup = runtime::container_cgroup(host, cgroup_path);
    if (!cgroup && spec.linux_.resources)
        throw Error("linux.resources: this host has no cgroup hierarchy mounted", ENOTSUP);
    req.cgroup = cgroup.get();
    CgroupGuard cgroup_guard(cgroup.get());

    State& st = out.state;
    st.id = id;
    st.bundle = bundle;
    st.rootfs = spec.root.path[0] == '/' ? spec.root.path : fs::join(bundle, spec.root.path);
    st.created = now_rfc3339();
    st.cgroup = cgroup ? cgroup_path : "";
    st.annotations = spec.annotations;
    st.owner = "root";

    out.process = runtime::launch(req);
    st.pid = out.process.pid;
    // Even a process that already exited (a zombie of ours) has its start time.
    if (auto ps = proc_stat(st.pid)) st.start_time = ps->start_time;
    c.store.save(st);
    write_pid_file(a.get("pid-file"), st.pid);
    guard.disarm();
    cgroup_guard.disarm();
    return out;
}

// Opens the FIFO for reading, which releases the parked process, and waits
// (bounded) for its byte; a process that died meanwhile is an error.
void release(const Store& store, const State& st) {
    const std::string f = store.fifo(st.id);
    fs::Fd fd(::open(f.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd) throw_errno(fmt::format("open exec fifo `{}`", f));
    for (int waited = 0; waited < 10000; waited += 100) {
        pollfd p{fd.get(), POLLIN, 0};
        int r = ::poll(&p, 1, 100);
        if (r < 0 && errno != EINTR) throw_errno("poll exec fifo");
        if (r > 0 && (p.revents & POLLIN)) {
            char b;
            if (::read(fd.get(), &b, 1) == 1) {
                ::unlink(f.c_str());
                return;
            }
        }
        if (live_start_time(st.pid) != st.start_time)
            throw Error(fmt::format("container `{}` exited before it could start", st.id), ESRCH);
    }
    throw Error(fmt::format("container `{}`: the process did not take the start signal within 10 s", st.id), ETIMEDOUT);
}

}  // namespace

int cmd_create(const Context& c) {
    Args a = parse_args(c.argv, c.first, kCreateOptions, false, "create");
    create_container(c, a, container_id_argument(a, "create"), true);
    return 0;
}

int cmd_start(const Context& c) {
    Args a = parse_args(c.argv, c.first, {}, false, "start");
    const std::string id = container_id_argument(a, "start");
    fs::Fd lock = c.store.lock(id);
    State st = c.store.load(id);
    Status s = c.store.status(st);
    if (s != Status::created)
        throw Error(fmt::format("cannot start container `{}`: it is {}, not created", id, status_name(s)), EINVAL);
    release(c.store, st);
    run_hooks_poststart(c.store, st);
    return 0;
}

int cmd_run(const Context& c) {
    Args a = parse_args(c.argv, c.first, run_options(), false, "run");
    const std::string id = container_id_argument(a, "run");
    if (a.has("detach")) {
        Created cr = create_container(c, a, id, false);
        ::close(cr.process.pidfd);
        run_hooks_poststart(c.store, cr.state, &cr.spec);
        return 0;
    }
    // Blocked before the clone so no signal is lost; the child resets its mask.
    sigset_t old;
    block_forwarded_signals(&old);
    std::unique_ptr<ConsoleRelay> relay;
    Created cr = create_container(c, a, id, false, &relay);
    ::close(cr.process.pidfd);
    // Its mount namespace is freed after we report, not inside its exit.
    if (cr.spec.linux_.creates_namespace(oci::NamespaceType::mount)) defer_mount_ns_release(cr.process.pid);
    run_hooks_poststart(c.store, cr.state, &cr.spec);
    int code = relay ? relay->relay(cr.process.pid, forwarded_signals()) : wait_forwarding(cr.process.pid);
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    if (!a.has("keep")) destroy(c.store, cr.state, &cr.spec);
    return code;
}

}  // namespace berth::runc
