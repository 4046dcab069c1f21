// Per-container I/O PID 1 sets up before a start: the log pipe, and the
// readiness channel (an s6-style notification pipe, or a NOTIFY_SOCKET
// datagram socket of the service's own), plus the readiness timeout and the
// systemd watchdog.
//
// Who may notify: the socket is the identity. Each service gets its own
// socket in its own directory (root-owned, 0755, so no one else can replace
// it), and that directory is bound into that service's container only. A
// datagram arriving there comes from a process that could reach the socket,
// which is the service (any of its processes, under any user: the socket is
// 0666, as systemd's is) or something already outside every container. The
// sender's pid is not checked against the cgroup: reading /proc/PID/cgroup
// after the datagram arrived races with the sender's exit, and helpers such as
// systemd-notify exit right after sending. SCM_CREDENTIALS is kept for the log.
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/unix_socket.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/utf8.hpp"
#include "supervisor/supervisor.hpp"

namespace berth::supervisor {

void Supervisor::prepare_io(Container& c) {
    if (!c.log) {
        c.log = std::make_unique<ServiceLog>(c.name, c.policy.log, settings_.console, settings_.log_dir);
        loop_.watch(c.log->read_fd(), EPOLLIN, [&c](std::uint32_t) { c.log->drain(); });
    }
    if (c.kind != Kind::service || c.notify_r) return;
    if (c.policy.readiness == config::Readiness::notify_fd) {
        int p[2];
        if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) throw_errno("readiness pipe");
        c.notify_r.reset(p[0]);
        c.notify_w.reset(p[1]);
        watch_notify(c);
    } else if (c.policy.readiness == config::Readiness::systemd) {
        if (settings_.notify_dir.empty()) throw Error("readiness systemd: no directory for NOTIFY_SOCKET");
        std::string dir = fs::join(settings_.notify_dir, c.name);
        fs::mkdir_p(dir, 0755);
        c.notify_socket = fs::join(dir, "notify");
        fs::Fd s(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (!s) throw_errno("NOTIFY_SOCKET socket");
        int one = 1;
        if (::setsockopt(s.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0) throw_errno("SO_PASSCRED");
        refuse_passed_descriptors(s.get());  // where the kernel can; FdSink otherwise
        sockaddr_un a = unix_socket::address(c.notify_socket, "NOTIFY_SOCKET");
        ::unlink(c.notify_socket.c_str());
        if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) throw_errno("bind " + c.notify_socket);
        ::chmod(c.notify_socket.c_str(), 0666);  // the service may run as any user
        c.notify_r = std::move(s);
        watch_notify(c);
    }
}

void Supervisor::watch_notify(Container& c) {
    bool datagram = c.policy.readiness == config::Readiness::systemd;
    loop_.watch(c.notify_r.get(), EPOLLIN, [this, &c, datagram](std::uint32_t) {
        for (int i = 0; i < 64; ++i) {  // bounded: a chatty service cannot hold the loop
            char buf[4096];
            pid_t sender = 0;
            ssize_t n;
            if (datagram) {
                unix_socket::ReceivedAll got = unix_socket::receive_all(c.notify_r.get(), buf, sizeof buf);
                n = got.bytes;
                sender = got.sender;
                if (!got.fds.empty()) {
                    dispose_fds(c, got.fds);
                    if (!c.notify_r) return;  // no longer read: see dispose_fds
                }
            } else {
                n = ::read(c.notify_r.get(), buf, sizeof buf);
                sender = c.pid;  // only the service holds the write end
            }
            if (n <= 0) return;
            notify_data(c, std::string_view(buf, size_t(n)), sender);
        }
    });
}

void Supervisor::dispose_fds(Container& c, const std::vector<int>& fds) {
    // berth keeps no descriptors for services (no FDSTORE): never PID 1's to close.
    constexpr int kMaxFdMessages = 16;
    fd_sink_.dispose(fds);
    retry_fd_sink();
    if (++c.notify_fd_messages == 1)
        log::warn("{} {}: NOTIFY_SOCKET: a message with {} descriptor(s); berth keeps none, they are closed",
                  kind_name(c.kind), c.name, fds.size());
    if (c.notify_fd_messages < kMaxFdMessages) return;
    // A bound on what one service can make PID 1 hold while the sink is busy.
    log::error("{} {}: NOTIFY_SOCKET: {} messages with descriptors; its notifications are no longer read",
               kind_name(c.kind), c.name, c.notify_fd_messages);
    loop_.unwatch(c.notify_r.get());
    fd_sink_.dispose({c.notify_r.release()});  // its queue may hold more: closed in the sink too
}

// What the sink did not take yet (its queue full): offered again each second.
void Supervisor::retry_fd_sink() {
    if (!fd_sink_.held() || fd_sink_retry_) return;
    fd_sink_retry_ = true;
    loop_.add_timer(1000, [this] {
        fd_sink_retry_ = false;
        fd_sink_.flush();
        retry_fd_sink();
    });
}

namespace {
// STATUS= as shown by `berth status`: valid UTF-8, at most kMaxStatus bytes,
// cut between characters.
constexpr size_t kMaxStatus = 200;
std::string status_text(std::string_view raw) {
    std::string s = utf8::sanitize(raw.substr(0, kMaxStatus + 3));
    return s.substr(0, utf8::cut(s, kMaxStatus));
}
}  // namespace

void Supervisor::notify_data(Container& c, std::string_view data, pid_t sender) {
    if (c.state != State::running && c.state != State::ready) return;
    if (c.policy.readiness == config::Readiness::notify_fd) {
        // s6: a newline, possibly after other bytes or in pieces, means ready.
        if (data.find('\n') != std::string_view::npos) mark_ready(c);
        return;
    }
    // One datagram holds newline-separated assignments.
    while (!data.empty()) {
        std::string_view line = data.substr(0, data.find('\n'));
        data.remove_prefix(std::min(data.size(), line.size() + 1));
        if (line == "READY=1") {
            if (!c.ready()) log::debug("services {}: READY=1 from pid {}", c.name, sender);
            mark_ready(c);
        } else if (line.rfind("STATUS=", 0) == 0) {
            c.status_text = status_text(line.substr(7));
        } else if (line == "WATCHDOG=1" && c.ready()) {
            arm_watchdog(c);
        }
    }
}

void Supervisor::arm_readiness(Container& c) {
    if (c.policy.readiness == config::Readiness::none) return mark_ready(c);
    c.timer = loop_.add_timer(c.policy.readiness_timeout_ms, [this, &c] {
        c.timer = 0;
        if (c.state != State::running) return;
        c.fail_reason = "not ready after " + std::to_string(c.policy.readiness_timeout_ms) + " ms";
        log::error("services {}: {}", c.name, c.fail_reason);
        begin_stop(c, "readiness timeout");
    });
}

// systemd's watchdog: each WATCHDOG=1 pushes the deadline; missing it stops
// the service as a failure, so the restart policy applies.
void Supervisor::arm_watchdog(Container& c) {
    cancel(c.watchdog);
    if (c.policy.watchdog_ms <= 0 || c.policy.readiness != config::Readiness::systemd) return;
    c.watchdog = loop_.add_timer(c.policy.watchdog_ms, [this, &c] {
        c.watchdog = 0;
        c.fail_reason = "watchdog timeout";
        log::error("services {}: no WATCHDOG=1 for {} ms", c.name, c.policy.watchdog_ms);
        begin_stop(c, "watchdog timeout");
    });
}

void Supervisor::mark_ready(Container& c) {
    if (c.state != State::running || !move(c, Event::became_ready)) return;  // a second READY=1 is no news
    c.ready_ms = loop_.now();
    if (c.policy.readiness != config::Readiness::none)
        log::info("services {}: ready after {} ms", c.name, c.ready_ms - c.started_ms);
    arm_watchdog(c);
    schedule();
}

}  // namespace berth::supervisor
