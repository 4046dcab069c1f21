#include "supervisor/control_server.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "common/unix_socket.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/utf8.hpp"
#include "config/json_document.hpp"

namespace berth::supervisor {

using json = nlohmann::json;
namespace field = control::field;
namespace reply = control::reply;
using control::to_line;

namespace {
// A cgroup counter such as memory.current; -1 when unavailable.
long long cgroup_value(const std::string& cgroup, const char* file) {
    if (cgroup.empty()) return -1;
    auto v = fs::try_read_file(fs::join(cgroup, file));
    return v ? std::atoll(v->c_str()) : -1;
}

size_t pending(const std::string& out, size_t sent) { return out.size() - sent; }

json failure(const std::string& err) { return {{reply::ok, false}, {reply::error, err}}; }

// The commands, and whether each names a container.
struct Command {
    const char* name;
    bool needs_name;
};
constexpr Command kCommands[] = {
    {"ps", false},      {"status", true},    {"logs", true},  {"start", true},   {"stop", true},
    {"restart", true},  {"kill", true},      {"poweroff", false}, {"reboot", false}, {"halt", false},
};

std::string type_of(const json& v) {
    return v.is_number_integer() ? "the number " + v.dump() : std::string(v.type_name());
}
}  // namespace

json describe(const Container& c, Millis now) {
    json j = {{"name", c.name}, {"kind", kind_name(c.kind)}, {"state", state_name(c.state)},
              {"pid", c.pid}, {"ready", c.ready()}, {"restarts", c.restarts},
              {"readiness", config::readiness_name(c.policy.readiness)},
              {"restart", config::restart_name(c.policy.restart)}, {"bundle", utf8::sanitize(c.bundle)}};
    j["uptime_ms"] = c.alive() ? now - c.started_ms : 0;
    if (c.state == State::exited || c.restarts > 0 || c.exit_code || c.exit_signal) {
        j["exit_code"] = c.exit_code;
        j["exit_signal"] = c.exit_signal;
    }
    // Errors may quote a file (a broken config.json): any bytes.
    if (c.state != State::pending && c.state != State::starting && !c.alive())
        j["last_exit"] = utf8::sanitize(c.describe_exit());
    if (!c.error.empty()) j["error"] = utf8::sanitize(c.error);
    if (!c.waiting_for.empty()) j["waiting_for"] = utf8::sanitize(c.waiting_for);
    if (!c.status_text.empty()) j["status"] = utf8::sanitize(c.status_text);
    if (c.alive()) {
        j["memory"] = cgroup_value(c.cgroup, "memory.current");
        j["pids"] = cgroup_value(c.cgroup, "pids.current");
    }
    if (c.log) j["log_dropped"] = c.log->dropped();
    return j;
}

std::string parse_request(const json& j, ControlRequest& r) {
    if (!j.is_object()) return "malformed request: expected a JSON object, got " + type_of(j);
    for (const auto& [key, v] : j.items()) {
        if (key == field::cmd || key == field::name) {
            if (!v.is_string()) return key + ": expected a string, got " + type_of(v);
            (key == field::cmd ? r.cmd : r.name) = v.get<std::string>();
        } else if (key == field::lines) {
            bool in_range = (v.is_number_unsigned() && v.get<std::uint64_t>() <= std::uint64_t(control::kMaxLogLines)) ||
                            (v.is_number_integer() && !v.is_number_unsigned() && v.get<std::int64_t>() >= 0 &&
                             v.get<std::int64_t>() <= control::kMaxLogLines);
            if (!in_range)
                return "lines: expected an integer from 0 to " + std::to_string(control::kMaxLogLines) + ", got " +
                       (v.is_number() ? v.dump() : type_of(v));
            r.lines = v.get<long long>();
        } else if (key == field::follow) {
            if (!v.is_boolean()) return "follow: expected true or false, got " + type_of(v);
            r.follow = v.get<bool>();
        } else if (key == field::signal) {
            int s = config::parse_signal(v);
            if (!s)
                return "signal: expected a signal number or a name such as \"KILL\" or \"SIGKILL\", got " +
                       (v.is_string() || v.is_number() ? v.dump() : type_of(v));
            r.signal = s;
        } else {
            return "unknown field \"" + key + "\"";
        }
    }
    if (!j.contains(field::cmd)) return "cmd: missing";
    const Command* cmd = nullptr;
    for (const auto& k : kCommands)
        if (r.cmd == k.name) cmd = &k;
    if (!cmd) return "unknown command \"" + r.cmd + "\"";
    if (cmd->needs_name && r.name.empty()) return "name: missing; `" + r.cmd + "` needs a container name";
    return "";
}

std::string parse_request(std::string_view line, ControlRequest& r) {
    std::string why;
    std::optional<json> j = config::parse_bounded_json(line, why);
    if (!j) return "malformed request: not one JSON object on one line (UTF-8), at most " +
                   std::to_string(config::kMaxJsonDepth) + " levels deep";
    return parse_request(*j, r);
}

ControlServer::ControlServer(EventLoop& loop, Supervisor& sup, std::string path, PowerHandler power)
    : loop_(loop), sup_(sup), path_(std::move(path)), power_(std::move(power)) {
    listen_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!listen_) throw_errno("control socket");
    sockaddr_un a = unix_socket::address(path_, "control socket");
    ::unlink(path_.c_str());
    if (::bind(listen_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) throw_errno("bind " + path_);
    ::chmod(path_.c_str(), 0600);  // and SO_PEERCRED below: root only
    if (::listen(listen_.get(), 16) < 0) throw_errno("listen " + path_);
    loop_.watch(listen_.get(), EPOLLIN, [this](std::uint32_t) { accept_clients(); });
}

ControlServer::~ControlServer() {
    for (auto& [fd, c] : conns_) {
        unfollow(*c);
        loop_.unwatch(fd);
    }
    if (idle_timer_) loop_.cancel_timer(idle_timer_);
    if (listen_) loop_.unwatch(listen_.get());
}

void ControlServer::accept_clients() {
    for (int i = 0; i < 64; ++i) {  // bounded: a connect storm cannot hold the loop
        fs::Fd fd(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!fd) return;
        ucred cred{};
        socklen_t len = sizeof cred;
        if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != 0) {
            std::string err = to_line(failure("permission denied: root only"));
            (void)::send(fd.get(), err.data(), err.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            continue;  // closed here
        }
        adopt(std::move(fd));
    }
}

void ControlServer::adopt(fs::Fd fd) {
    if (conns_.size() >= control::kMaxClients && !make_room()) {
        std::string err = to_line(failure("too many clients"));
        (void)::send(fd.get(), err.data(), err.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        return;
    }
    int n = fd.get();
    auto conn = std::make_unique<Conn>();
    conn->fd = std::move(fd);
    conn->last_active = loop_.now();
    conns_[n] = std::move(conn);
    loop_.watch(n, EPOLLIN, [this, n](std::uint32_t ev) { on_client(n, ev); });
    if (!idle_timer_) idle_timer_ = loop_.add_timer(1000, [this] { check_idle(); });
}

// Nothing asked and nothing owed: the client can go without losing anything.
bool ControlServer::idle(const Conn& c) const { return !c.stream && c.out_sent == c.out.size(); }

// Every slot taken: the client idle for longest goes, so that a new `berth`
// call always gets in; when none is idle (all following logs), the new one
// is refused.
bool ControlServer::make_room() {
    int oldest = -1;
    Millis when = 0;
    for (const auto& [fd, c] : conns_)
        if (idle(*c) && (oldest < 0 || c->last_active < when)) oldest = fd, when = c->last_active;
    if (oldest < 0) return false;
    log::info("control: {} clients, the oldest idle one is dropped to make room", conns_.size());
    drop(oldest);
    return true;
}

// A client that neither asks nor reads for kIdleTimeoutMs is dropped; one
// following logs never is (what it holds is bounded).
void ControlServer::check_idle() {
    idle_timer_ = 0;
    Millis now = loop_.now();
    std::vector<int> late;
    for (const auto& [fd, c] : conns_)
        if (!(c->stream && c->stream->follow) && now - c->last_active >= control::kIdleTimeoutMs) late.push_back(fd);
    for (int fd : late) drop(fd);
    if (!conns_.empty()) idle_timer_ = loop_.add_timer(1000, [this] { check_idle(); });
}

void ControlServer::on_client(int fd, std::uint32_t events) {
    auto it = conns_.find(fd);
    if (it == conns_.end()) return;
    // Closed entirely (or broken): nobody reads a reply any more.
    if (events & (EPOLLHUP | EPOLLERR)) return drop(fd);
    if ((events & EPOLLIN) && !read_input(*it->second)) return;
    pump(fd);
}

// False when the client was dropped.
bool ControlServer::read_input(Conn& c) {
    char buf[16384];
    ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
    if (n == 0) {
        c.eof = true;  // shut for writing: its requests are still answered,
        if (!c.in.empty() && c.in.back() != '\n') c.in += '\n';  // the last one even without its newline
        return true;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return true;
        drop(c.fd.get());
        return false;
    }
    c.in.append(buf, size_t(n));
    return true;
}

// Answers each complete request line in order, as long as no `logs` reply is
// being streamed and the output buffer has room.
void ControlServer::serve_requests(Conn& c) {
    while (!c.stream && pending(c.out, c.out_sent) < kOutBuffer) {
        size_t nl = c.in.find('\n');
        if (nl == std::string::npos) break;
        std::string line = c.in.substr(0, nl);
        c.in.erase(0, nl + 1);
        c.last_active = loop_.now();
        c.out += answer(line, c);
    }
    if (!c.stream && c.in.size() >= control::kMaxRequest && c.in.find('\n') == std::string::npos) {
        c.out += to_line(failure("request longer than " + std::to_string(control::kMaxRequest) + " bytes"));
        c.in.clear();
        c.eof = true;  // the rest of it cannot be told from a next request: close
    }
}

std::string ControlServer::answer(std::string_view line, Conn& c) {
    try {
        ControlRequest r;
        std::string err = parse_request(line, r);
        return to_line(err.empty() ? dispatch(r, &c) : failure(err));
    } catch (const std::exception& e) {
        return to_line(failure(std::string("internal error: ") + e.what()));
    } catch (...) {
        return to_line(failure("internal error"));
    }
}

json ControlServer::handle(const json& req) {
    try {
        ControlRequest r;
        std::string err = parse_request(req, r);
        return err.empty() ? dispatch(r, nullptr) : failure(err);
    } catch (const std::exception& e) {
        return failure(std::string("internal error: ") + e.what());
    }
}

json ControlServer::dispatch(const ControlRequest& r, Conn* conn) {
    auto result = [](const std::string& err) { return err.empty() ? json{{reply::ok, true}} : failure(err); };
    const std::string& cmd = r.cmd;
    if (cmd == "ps") {
        Millis now = loop_.now();
        json list = json::array();
        for (const auto& c : sup_.containers()) list.push_back(describe(c, now));
        return {{reply::ok, true}, {reply::containers, list}};
    }
    if (cmd == "poweroff" || cmd == "reboot" || cmd == "halt") {
        power_(cmd == "poweroff" ? PowerAction::poweroff : cmd == "reboot" ? PowerAction::reboot : PowerAction::halt);
        return {{reply::ok, true}};
    }
    Container* c = sup_.find(r.name);
    if (!c) return failure("no container named \"" + r.name + "\"");
    if (cmd == "status") return {{reply::ok, true}, {reply::container, describe(*c, loop_.now())}};
    if (cmd == "start") return result(sup_.start(r.name));
    if (cmd == "stop") return result(sup_.stop(r.name));
    if (cmd == "restart") return result(sup_.restart(r.name));
    if (cmd == "kill") return result(sup_.kill(r.name, r.signal));
    if (cmd == "logs") {
        ServiceLog* log = c->log.get();
        if (conn) {
            // The lines themselves follow the header, as the socket drains.
            LogStream st;
            st.name = r.name;
            st.follow = r.follow;
            st.end = log ? log->total() : 0;
            std::uint64_t kept = log ? log->total() - log->first_seq() : 0;
            st.next = st.end - std::min<std::uint64_t>(kept, std::uint64_t(r.lines));
            conn->stream = st;
            if (r.follow && log) {
                int fd = conn->fd.get();
                std::weak_ptr<bool> alive = conn->alive;
                conn->stream->follower = log->follow([this, fd, alive](const LogLine&) {
                    auto a = alive.lock();
                    if (!a || !*a) return false;
                    pump(fd);
                    return *a;
                });
            }
        }
        return {{reply::ok, true}, {reply::dropped, log ? log->dropped() : 0}};
    }
    return failure("unknown command \"" + cmd + "\"");
}

// Tops the output buffer up with the next lines of the `logs` reply.
void ControlServer::produce(Conn& c) {
    LogStream& st = *c.stream;
    Container* k = sup_.find(st.name);
    const ServiceLog* log = k ? k->log.get() : nullptr;
    std::uint64_t stop = log ? (st.follow ? log->total() : std::min(st.end, log->total())) : st.next;
    if (log && st.next < log->first_seq()) {  // the ring moved on while this client read slowly
        std::uint64_t to = std::min(log->first_seq(), std::max(stop, st.next));
        if (to > st.next) c.out += to_line({{reply::skipped, to - st.next}});
        st.next = to;
    }
    while (st.next < stop && pending(c.out, c.out_sent) < kOutBuffer) {
        const LogLine* l = log->line(st.next++);
        if (l) c.out += to_line({{reply::time, l->wall_ms}, {reply::line, l->text}});
    }
    if (!st.follow && st.next >= stop) {
        c.out += to_line({{reply::end, true}});
        c.stream.reset();
    }
}

// Sends what the socket takes; false when the client was dropped.
bool ControlServer::flush(Conn& c) {
    int fd = c.fd.get();
    while (c.out_sent < c.out.size()) {
        ssize_t n = ::send(fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        if (n <= 0) {
            drop(fd);
            return false;
        }
        c.out_sent += size_t(n);
        c.last_active = loop_.now();
    }
    if (c.out_sent == c.out.size()) {
        c.out.clear();
        c.out_sent = 0;
    } else if (c.out_sent >= kOutBuffer) {
        c.out.erase(0, c.out_sent);
        c.out_sent = 0;
    }
    return true;
}

// Something to produce or answer right now (a follower that has caught up
// waits for the next line instead).
bool ControlServer::has_work(const Conn& c) const {
    if (!c.stream) return c.in.find('\n') != std::string::npos;
    if (!c.stream->follow) return true;
    const Container* k = sup_.find(c.stream->name);
    return k && k->log && c.stream->next < k->log->total();
}

// Moves one client on: stream, answer, send, as far as its socket takes it.
void ControlServer::pump(int fd) {
    for (int round = 0; round < 16; ++round) {  // bounded: one client cannot hold the loop
        auto it = conns_.find(fd);
        if (it == conns_.end()) return;
        Conn& c = *it->second;
        if (c.stream) produce(c);
        if (!c.stream) serve_requests(c);
        if (c.stream && pending(c.out, c.out_sent) < kOutBuffer) produce(c);
        if (!flush(c)) return;
        if (pending(c.out, c.out_sent) > 0) break;  // the socket is full: EPOLLOUT brings us back
        if (!has_work(c)) break;
    }
    auto it = conns_.find(fd);
    if (it == conns_.end()) return;
    Conn& c = *it->second;
    bool owed = c.stream || pending(c.out, c.out_sent) > 0 || c.in.find('\n') != std::string::npos;
    if (c.eof && !owed) return drop(fd);
    rearm(c);
}

void ControlServer::rearm(Conn& c) {
    int fd = c.fd.get();
    std::uint32_t ev = 0;
    // Input is read while there is room for it; a request waiting behind a
    // streamed reply holds the rest back (the client's writes then block).
    if (!c.eof && c.in.size() < control::kMaxRequest) ev |= EPOLLIN;
    if (pending(c.out, c.out_sent) > 0 || has_work(c)) ev |= EPOLLOUT;
    loop_.watch(fd, ev, [this, fd](std::uint32_t e) { on_client(fd, e); });
}

void ControlServer::drop(int fd) {
    auto it = conns_.find(fd);
    if (it == conns_.end()) return;
    unfollow(*it->second);
    loop_.unwatch(fd);
    conns_.erase(it);
}

// The client's follower leaves its service's log now, not at the next line:
// a quiet service would otherwise keep one per `logs -f` ever run.
void ControlServer::unfollow(Conn& c) {
    *c.alive = false;
    if (!c.stream || !c.stream->follower) return;
    Container* k = sup_.find(c.stream->name);
    if (k && k->log) k->log->unfollow(c.stream->follower);
}

}  // namespace berth::supervisor
