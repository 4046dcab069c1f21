#include "init/container_launcher.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/unix_socket.hpp"
#include "common/log.hpp"
#include "common/text.hpp"
#include "config/oci_spec.hpp"
#include "init/bundle_prepare.hpp"
#include "init/container_devices.hpp"
#include "init/container_interfaces.hpp"
#include "init/namespace_binding.hpp"
#include "runtime/launcher.hpp"

namespace berth::init {

namespace {

// fd moved to 1024 or above (the original closed); throws with `what` on failure.
fs::Fd lifted(int fd, const std::string& what) {
    if (fd < 0) throw_errno(what);
    fs::Fd low(fd);
    fs::Fd high(::fcntl(fd, F_DUPFD_CLOEXEC, 1024));
    if (!high) throw_errno(what);
    return high;
}

// Places the readiness pipe at fd N for the duration of one launch (the
// runtime passes fds 3..N on), with /dev/null on 3..N-1 so nothing of PID 1
// leaks; PID 1's own descriptors there are set aside and put back after.
class FdPlacement {
public:
    FdPlacement(int fd_number, int source) {
        // Both sources above the range being filled: the launch process closed
        // PID 1's low descriptors, so /dev/null or the pipe could sit in 3..N.
        fs::Fd devnull = lifted(::open("/dev/null", O_RDWR | O_CLOEXEC), "open /dev/null");
        fs::Fd pipe = lifted(::fcntl(source, F_DUPFD_CLOEXEC, 3), "readiness fd");
        for (int i = 3; i <= fd_number; ++i) {
            int saved = ::fcntl(i, F_DUPFD_CLOEXEC, 1024);
            saved_.push_back(saved);  // -1: nothing was open there
            if (::dup3(i == fd_number ? pipe.get() : devnull.get(), i, O_CLOEXEC) < 0) {
                int err = errno;
                restore();
                throw_errno("place the readiness fd at " + std::to_string(fd_number), err);
            }
        }
    }
    ~FdPlacement() { restore(); }

private:
    void restore() {
        for (size_t k = 0; k < saved_.size(); ++k) {
            int i = int(k) + 3;
            if (saved_[k] >= 0) {
                ::dup3(saved_[k], i, O_CLOEXEC);
                ::close(saved_[k]);
            } else {
                ::close(i);
            }
        }
        saved_.clear();
    }
    std::vector<int> saved_;
};


// Everything that can block or allocate: runs in the launch process.
runtime::Process launch_container(supervisor::Container& c, const LaunchDirs& dirs,
                                  const std::vector<oci::Device>& matched, bool& pid_ns_init,
                                  const std::function<void()>& await_go) {
    // A broken config.json fails this container only, with the file and field named.
    oci::Spec spec = load_config_limited(c.bundle, kConfigMaxBytes);
    // The devices it declared by `match` that are present: made and allowed as its own.
    spec.linux_.devices.insert(spec.linux_.devices.end(), matched.begin(), matched.end());
    const config::RuntimeConfig rt = read_runtime_config(c.bundle);
    runtime::LaunchRequest req;
    req.id = c.name;
    req.bundle_dir = c.bundle;
    req.spec = &spec;
    req.seccomp_cache_dir = dirs.seccomp_cache;
    req.log_seccomp_compile = true;
    // stdout and stderr share the pipe PID 1 keeps across restarts.
    req.stdio.in = -1;
    // Kept out of the range the readiness fd placement fills.
    fs::Fd out;
    if (c.log) out = lifted(::fcntl(c.log->write_fd(), F_DUPFD_CLOEXEC, 3), "log pipe");
    req.stdio.out = out ? out.get() : 1;
    req.stdio.err = req.stdio.out;
    req.cgroup_path = c.cgroup;
    if (!c.notify_socket.empty()) {
        // The socket's directory is bound at the same path inside the container.
        std::string dir = c.notify_socket.substr(0, c.notify_socket.rfind('/'));
        if (spec.linux_.creates_namespace(oci::NamespaceType::mount) ||
            spec.linux_.find_namespace(oci::NamespaceType::mount)) {
            oci::Mount bind;
            bind.destination = bind.source = dir;
            bind.type = "bind";
            bind.options = {"rbind", "nosuid", "nodev", "noexec"};
            spec.mounts.push_back(std::move(bind));
        }
        spec.process.env.push_back("NOTIFY_SOCKET=" + c.notify_socket);
        if (c.policy.watchdog_ms > 0)
            spec.process.env.push_back("WATCHDOG_USEC=" + std::to_string(c.policy.watchdog_ms * 1000));
    }
    std::unique_ptr<FdPlacement> placed;
    if (c.notify_w) {
        placed = std::make_unique<FdPlacement>(c.policy.readiness_fd, c.notify_w.get());
        req.preserve_fds = c.policy.readiness_fd - 2;
    }
    // interfaces, bindNS: the process waits on an exec FIFO until its network
    // interfaces are in place and its namespaces are bound.
    std::string fifo_path;
    fs::Fd fifo;
    if (!rt.bind_ns.empty() || !rt.interfaces.empty()) {
        fifo_path = fs::join(dirs.prepared, c.name + ".start");
        fs::mkdir_p(dirs.prepared, 0700);
        ::unlink(fifo_path.c_str());
        // Writable by the container's user, whoever it is (as runc's exec fifo).
        if (::mkfifo(fifo_path.c_str(), 0600) < 0 || ::chmod(fifo_path.c_str(), 0622) < 0)
            throw_errno("container `" + c.name + "`: create the exec fifo `" + fifo_path + "`");
        fifo = lifted(::open(fifo_path.c_str(), O_PATH | O_CLOEXEC), "open the exec fifo");
        req.exec_fifo_fd = fifo.get();
    }
    // A prepared start stops here until its turn, after what reads only the
    // bundle: from here on it sees the host as the containers before it left
    // it. runtime.json's mounts (the overlay of a writable container...) come
    // first, then the runtime's mounts and the clone.
    req.before_host_steps = [&] {
        await_go();
        prepare_bundle_once(c.bundle, dirs.prepared);
    };
    pid_ns_init = spec.linux_.creates_namespace(oci::NamespaceType::pid);
    runtime::Process p = runtime::launch(req);
    if (fifo) {
        try {
            // LinuxKit's order: the interfaces, then the binds.
            const std::string where = fs::join(c.bundle, "runtime.json");
            set_up_interfaces(rt.interfaces, p.pid, where);
            bind_namespaces(rt.bind_ns, p.pid, where);
            release_parked(fifo_path, p.pidfd, c.name);
        } catch (...) {
            ::kill(p.pid, SIGKILL);  // parked or gone: nothing of it ran
            if (p.pidfd >= 0) ::close(p.pidfd);
            ::unlink(fifo_path.c_str());
            throw;
        }
        ::unlink(fifo_path.c_str());
    }
    return p;
}

// PID 1's descriptors (control connections, other services' pipes, the
// epoll and signal fds) are closed in the launch process: it could hold them
// for as long as its hooks run, keeping a client from seeing its connection end.
void close_inherited_fds(std::vector<int> keep) {
    keep.push_back(2);
    std::sort(keep.begin(), keep.end());
    unsigned lo = 3;
    for (int fd : keep) {
        if (fd < int(lo)) continue;
        if (unsigned(fd) > lo) ::syscall(SYS_close_range, lo, unsigned(fd) - 1, 0);
        lo = unsigned(fd) + 1;
    }
    ::syscall(SYS_close_range, lo, ~0U, 0);
}

// The launch process: one start, one report, exit. Never returns.
// A prepared launch process waits here for PID 1's go byte. No byte (PID 1
// closed its end: the start was discarded) ends the process; nothing of the
// container exists yet.
class GoGate {
public:
    GoGate(int report_fd, bool wait) : fd_(report_fd), waited_(!wait) {}
    void wait() {
        if (waited_) return;
        waited_ = true;
        char b;
        ssize_t n;
        do n = ::recv(fd_, &b, 1, 0);
        while (n < 0 && errno == EINTR);
        if (n != 1) ::_exit(0);
    }

private:
    int fd_;
    bool waited_;
};

[[noreturn]] void launch_process(supervisor::Container& c, const LaunchDirs& dirs,
                                 const std::vector<oci::Device>& matched, int report_fd, bool wait_for_go) {
    std::vector<int> keep{report_fd};
    if (c.log) keep.push_back(c.log->write_fd());
    if (c.notify_w) keep.push_back(c.notify_w.get());
    close_inherited_fds(keep);
    ::prctl(PR_SET_NAME, "berth-launch");
    // Killed with PID 1's loop if PID 1 ever goes (it should not).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    std::string msg;
    int pidfd = -1;
    GoGate go(report_fd, wait_for_go);
    try {
        bool ns_init = false;
        runtime::Process p = launch_container(c, dirs, matched, ns_init, [&go] { go.wait(); });
        msg = fmt::format("ok {} {}", p.pid, ns_init ? 1 : 0);
        pidfd = p.pidfd;
    } catch (const std::exception& e) {
        msg = std::string("error ") + e.what();
    } catch (...) {
        msg = "error container `" + c.name + "`: unknown failure in the launch process";
    }
    go.wait();  // a broken config.json is reported at the container's turn, as without preparation
    if (msg.size() > 60000) msg.resize(60000);
    (void)unix_socket::send_with_fd(report_fd, msg, pidfd);  // nobody to tell if PID 1 is gone
    ::_exit(0);
}

}  // namespace

oci::Spec load_config_limited(const std::string& bundle_dir, std::size_t max_bytes) {
    const std::string file = fs::join(bundle_dir, "config.json");
    fs::Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open " + file);
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0) throw_errno("stat " + file);
    if (std::size_t(st.st_size) > max_bytes)
        throw Error(fmt::format("{}: {} bytes, over the {}-byte limit for config.json", file, st.st_size, max_bytes),
                    EFBIG);
    return oci::load_bundle(bundle_dir);
}

RuntimeLauncher::RuntimeLauncher(supervisor::EventLoop& loop, LaunchDirs dirs) : loop_(loop), dirs_(std::move(dirs)) {}

RuntimeLauncher::~RuntimeLauncher() {
    for (auto& [key, f] : in_flight_) loop_.unwatch(f.report.get());
    for (auto& [key, p] : prepared_)
        if (launch_pids_.count(p.pid)) ::kill(p.pid, SIGKILL);
}

RuntimeLauncher::Prepared RuntimeLauncher::fork_launch(supervisor::Container& c, bool wait_for_go) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
        throw_errno("container `" + c.name + "`: report socket");
    fs::Fd ours(sv[0]), theirs(sv[1]);
    // The child side blocks in its sends; only PID 1's end is non-blocking.
    ::fcntl(theirs.get(), F_SETFL, ::fcntl(theirs.get(), F_GETFL) & ~O_NONBLOCK);
    const std::vector<oci::Device> matched = devices_ ? devices_->at_launch(c) : std::vector<oci::Device>{};
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("container `" + c.name + "`: fork the launch process");
    if (pid == 0) {
        ::close(ours.get());
        launch_process(c, dirs_, matched, theirs.get(), wait_for_go);
    }
    launch_pids_.insert(pid);
    return Prepared{pid, std::move(ours)};
}

void RuntimeLauncher::prepare(supervisor::Container& c) {
    if (prepared_.count(&c) || in_flight_.count(&c)) return;
    prepared_.emplace(&c, fork_launch(c, true));
}

void RuntimeLauncher::discard(supervisor::Container& c) {
    auto it = prepared_.find(&c);
    if (it == prepared_.end()) return;
    // It waits for the go byte and has made nothing yet: ending it is enough.
    if (launch_pids_.count(it->second.pid)) ::kill(it->second.pid, SIGKILL);
    prepared_.erase(it);
}

void RuntimeLauncher::start(supervisor::Container& c, Done done) {
    Prepared p;
    if (auto it = prepared_.find(&c); it != prepared_.end()) {
        p = std::move(it->second);
        prepared_.erase(it);
        const char go = 1;
        // A launch process that died meanwhile shows as a report-less end below.
        if (::send(p.report.get(), &go, 1, MSG_NOSIGNAL) != 1)
            log::warn("container `{}`: go to the prepared launch process: {}", c.name, std::strerror(errno));
    } else {
        p = fork_launch(c, false);
    }
    int fd = p.report.get();
    const supervisor::Container* key = &c;
    in_flight_[key] = InFlight{p.pid, std::move(p.report), std::move(done), c.name};
    loop_.watch(fd, EPOLLIN, [this, key](std::uint32_t) { on_report(key); });
}

void RuntimeLauncher::on_report(const supervisor::Container* key) {
    auto it = in_flight_.find(key);
    if (it == in_flight_.end()) return;
    InFlight& f = it->second;
    static char buf[64 * 1024];
    unix_socket::Received got = unix_socket::receive(f.report.get(), buf, sizeof buf);
    if (got.bytes < 0 && errno == EAGAIN) return;
    ssize_t n = got.bytes;
    supervisor::LaunchResult r;
    r.pidfd = std::move(got.fd);
    std::string msg = n > 0 ? std::string(buf, size_t(n)) : "";
    if (msg.rfind("ok ", 0) == 0) {
        // "ok PID PID_NS_INIT"
        int ns_init = 0;
        auto fields = text::words(std::string_view(msg).substr(3));
        if (fields.size() != 2 || !text::parse_int(fields[0], r.pid) || !text::parse_int(fields[1], ns_init) ||
            r.pid <= 0)
            r.error = "container `" + f.name + "`: malformed launch report";
        r.pid_ns_init = ns_init != 0;
    } else if (msg.rfind("error ", 0) == 0) {
        r.error = msg.substr(6);
    } else {
        r.error = "container `" + f.name + "`: the launch process ended without a report";
    }
    if (!r.error.empty()) {
        r.pid = -1;
        r.pidfd.reset();
    }
    loop_.unwatch(f.report.get());
    Done done = std::move(f.done);
    in_flight_.erase(it);
    const bool ok = r.error.empty();
    done(std::move(r));
    // The supervisor now knows its pid: what changed since the launch began.
    if (ok && devices_) devices_->started(*key);
}

void RuntimeLauncher::cancel(supervisor::Container& c) {
    discard(c);
    auto it = in_flight_.find(&c);
    if (it == in_flight_.end()) return;
    // Not reaped yet (it is in launch_pids_), so the pid is still this process.
    if (launch_pids_.count(it->second.pid)) ::kill(it->second.pid, SIGKILL);
    loop_.unwatch(it->second.report.get());
    in_flight_.erase(it);
}

bool RuntimeLauncher::reaped(pid_t pid, int code, int status) {
    if (!launch_pids_.erase(pid)) return devices_ && devices_->reaped(pid, code, status);
    if (code != CLD_EXITED || status != 0)
        log::warn("launch process {} ended with {} {}", pid, code == CLD_EXITED ? "status" : "signal", status);
    return true;
}

}  // namespace berth::init
