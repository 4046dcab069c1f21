#include "supervisor/control_server.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>

#include "common/error.hpp"
#include "common/log.hpp"

namespace berth::supervisor {

using json = nlohmann::json;

namespace {
// A cgroup counter such as memory.current; -1 when unavailable.
long long cgroup_value(const std::string& cgroup, const char* file) {
    if (cgroup.empty()) return -1;
    auto v = fs::try_read_file(fs::join(cgroup, file));
    return v ? std::atoll(v->c_str()) : -1;
}
}  // namespace

json describe(const Container& c, Millis now) {
    json j = {{"name", c.name}, {"kind", kind_name(c.kind)}, {"state", state_name(c.state)},
              {"pid", c.pid}, {"ready", c.ready()}, {"restarts", c.restarts},
              {"readiness", config::readiness_name(c.policy.readiness)},
              {"restart", config::restart_name(c.policy.restart)}, {"bundle", c.bundle}};
    j["uptime_ms"] = c.alive() ? now - c.started_ms : 0;
    if (c.state == State::exited || c.restarts > 0 || c.exit_code || c.exit_signal) {
        j["exit_code"] = c.exit_code;
        j["exit_signal"] = c.exit_signal;
    }
    if (c.state != State::pending && c.state != State::starting && !c.alive())
        j["last_exit"] = c.describe_exit();
    if (!c.error.empty()) j["error"] = c.error;
    if (!c.waiting_for.empty()) j["waiting_for"] = c.waiting_for;
    if (!c.status_text.empty()) j["status"] = c.status_text;
    if (c.alive()) {
        j["memory"] = cgroup_value(c.cgroup, "memory.current");
        j["pids"] = cgroup_value(c.cgroup, "pids.current");
    }
    if (c.log) j["log_dropped"] = c.log->dropped();
    return j;
}

ControlServer::ControlServer(EventLoop& loop, Supervisor& sup, std::string path, PowerHandler power)
    : loop_(loop), sup_(sup), path_(std::move(path)), power_(std::move(power)) {
    listen_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!listen_) throw_errno("control socket");
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path_.size() >= sizeof a.sun_path) throw Error("control socket path too long: " + path_);
    path_.copy(a.sun_path, sizeof a.sun_path - 1);
    ::unlink(path_.c_str());
    if (::bind(listen_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) throw_errno("bind " + path_);
    ::chmod(path_.c_str(), 0600);  // and SO_PEERCRED below: root only
    if (::listen(listen_.get(), 16) < 0) throw_errno("listen " + path_);
    loop_.watch(listen_.get(), EPOLLIN, [this](std::uint32_t) { accept_clients(); });
}

ControlServer::~ControlServer() {
    for (auto& [fd, c] : conns_) loop_.unwatch(fd);
    if (listen_) loop_.unwatch(listen_.get());
}

void ControlServer::accept_clients() {
    for (;;) {
        fs::Fd fd(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!fd) return;
        ucred cred{};
        socklen_t len = sizeof cred;
        auto conn = std::make_unique<Conn>();
        int n = fd.get();
        conn->fd = std::move(fd);
        bool root = ::getsockopt(n, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == 0;
        if (!root || conns_.size() >= kMaxClients) {
            std::string err = json{{"ok", false}, {"error", root ? "too many clients" : "permission denied: root only"}}.dump() + "\n";
            (void)::send(n, err.data(), err.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            continue;  // closed here
        }
        auto& c = *conns_.emplace(n, std::move(conn)).first->second;
        loop_.watch(n, EPOLLIN, [this, n](std::uint32_t ev) { on_client(n, ev); });
        (void)c;
    }
}

void ControlServer::on_client(int fd, std::uint32_t events) {
    auto it = conns_.find(fd);
    if (it == conns_.end()) return;
    Conn& c = *it->second;
    if (events & EPOLLOUT) flush(c);
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return drop(fd);
    if (n < 0) return;
    c.in.append(buf, size_t(n));
    if (c.in.size() > 65536) return drop(fd);
    size_t nl = c.in.find('\n');
    if (nl == std::string::npos) return;
    json req = json::parse(c.in.substr(0, nl), nullptr, false);
    c.in.erase(0, nl + 1);
    json reply = req.is_object() ? handle(req, fd) : json{{"ok", false}, {"error", "malformed request"}};
    if (conns_.count(fd)) send(c, reply.dump() + "\n");
}

void ControlServer::send(Conn& c, const std::string& text) {
    if (c.out.size() + text.size() > kMaxPending) {
        log::warn("control client too slow, dropped");
        return drop(c.fd.get());
    }
    c.out += text;
    flush(c);
}

void ControlServer::flush(Conn& c) {
    int fd = c.fd.get();
    while (!c.out.empty()) {
        ssize_t n = ::send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        if (n <= 0) return drop(fd);
        c.out.erase(0, size_t(n));
    }
    loop_.watch(fd, c.out.empty() ? EPOLLIN : EPOLLIN | EPOLLOUT, [this, fd](std::uint32_t ev) { on_client(fd, ev); });
}

void ControlServer::drop(int fd) {
    auto it = conns_.find(fd);
    if (it == conns_.end()) return;
    *it->second->alive = false;
    loop_.unwatch(fd);
    conns_.erase(it);
}

json ControlServer::handle(const json& req, int conn_fd) {
    std::string cmd = req.value("cmd", "");
    std::string name = req.value("name", "");
    auto result = [](const std::string& err) {
        return err.empty() ? json{{"ok", true}} : json{{"ok", false}, {"error", err}};
    };
    Millis now = monotonic_ms();
    if (cmd == "ps") {
        json list = json::array();
        for (const auto& c : sup_.containers()) list.push_back(describe(c, now));
        return {{"ok", true}, {"containers", list}};
    }
    if (cmd == "poweroff" || cmd == "reboot" || cmd == "halt") {
        power_(cmd == "poweroff" ? PowerAction::poweroff : cmd == "reboot" ? PowerAction::reboot : PowerAction::halt);
        return {{"ok", true}};
    }
    Container* c = sup_.find(name);
    if (!c) return result("no container named \"" + name + "\"");
    if (cmd == "status") return {{"ok", true}, {"container", describe(*c, now)}};
    if (cmd == "start") return result(sup_.start(name));
    if (cmd == "stop") return result(sup_.stop(name));
    if (cmd == "restart") return result(sup_.restart(name));
    if (cmd == "kill") return result(sup_.kill(name, req.value("signal", 15)));
    if (cmd == "logs") {
        json lines = json::array();
        if (c->log) {
            const auto& all = c->log->lines();
            size_t n = std::min<size_t>(all.size(), size_t(std::max(0, req.value("lines", 100))));
            for (size_t i = all.size() - n; i < all.size(); ++i)
                lines.push_back({{"t", all[i].wall_ms}, {"line", all[i].text}});
        }
        if (req.value("follow", false) && c->log && conn_fd >= 0) {
            auto& conn = *conns_.at(conn_fd);
            std::weak_ptr<bool> alive = conn.alive;
            c->log->follow([this, conn_fd, alive](const LogLine& l) {
                auto a = alive.lock();
                if (!a || !*a) return false;
                send(*conns_.at(conn_fd), json{{"t", l.wall_ms}, {"line", l.text}}.dump() + "\n");
                return true;
            });
        }
        return {{"ok", true}, {"lines", lines}, {"dropped", c->log ? c->log->dropped() : 0}};
    }
    return result("unknown command \"" + cmd + "\"");
}

}  // namespace berth::supervisor
