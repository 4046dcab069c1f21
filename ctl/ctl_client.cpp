#include "ctl/ctl_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/unix_socket.hpp"
#include "common/error.hpp"

namespace berth::ctl {

using json = nlohmann::json;

namespace {
long long now_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

std::string duration(long long ms) {
    return ms % 1000 ? std::to_string(ms) + " ms" : std::to_string(ms / 1000) + " s";
}

// Waits for `events` on fd until `deadline` (< 0: no limit). False on timeout.
bool wait_for(int fd, short events, long long deadline) {
    for (;;) {
        long long left = deadline < 0 ? -1 : deadline - now_ms();
        if (deadline >= 0 && left <= 0) return false;
        pollfd p{fd, events, 0};
        int n = ::poll(&p, 1, left < 0 ? -1 : int(std::min(left, 60000LL)));
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) throw_errno("poll control socket");
    }
}
}  // namespace

CtlConnection::CtlConnection(const std::string& path, long long timeout_ms) : path_(path), timeout_ms_(timeout_ms) {
    fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd_) throw_errno("socket");
    sockaddr_un a = unix_socket::address(path, "control socket");
    long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : -1;
    // A unix socket's connect does not wait in the background: a full
    // backlog answers EAGAIN, and the client tries again until the deadline.
    while (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN) throw_errno("connect to " + path + " (is berth PID 1 running?)");
        if (deadline >= 0 && now_ms() >= deadline)
            throw Error("no connection to PID 1 at " + path + " within " + duration(timeout_ms) + " (it accepts no more)");
        ::usleep(20000);
    }
}

json CtlConnection::request(const json& req) {
    std::string line = control::to_line(req);
    long long deadline = timeout_ms_ > 0 ? now_ms() + timeout_ms_ : -1;
    for (size_t sent = 0; sent < line.size();) {
        ssize_t n = ::send(fd_.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += size_t(n);
        } else if (n < 0 && errno == EAGAIN) {
            if (!wait_for(fd_.get(), POLLOUT, deadline))
                throw Error("PID 1 took no request within " + duration(timeout_ms_));
        } else if (n < 0 && errno != EINTR) {
            throw_errno("send request to PID 1");
        }
    }
    return next(timeout_ms_);
}

json CtlConnection::next(long long timeout_ms) {
    long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : -1;
    for (;;) {
        size_t nl = buf_.find('\n');
        if (nl != std::string::npos) {
            json j = json::parse(buf_.substr(0, nl), nullptr, false);
            buf_.erase(0, nl + 1);
            if (j.is_discarded()) throw Error("malformed reply from PID 1");
            return j;
        }
        char b[65536];
        ssize_t n = ::read(fd_.get(), b, sizeof b);
        if (n > 0) {
            buf_.append(b, size_t(n));
        } else if (n == 0) {
            throw Error("PID 1 closed the connection (is it shutting down?)");
        } else if (errno == EAGAIN) {
            if (!wait_for(fd_.get(), POLLIN, deadline))
                throw Error("no reply from PID 1 within " + duration(timeout_ms) + " (see --timeout)");
        } else if (errno != EINTR) {
            throw_errno("read reply from PID 1");
        }
    }
}

}  // namespace berth::ctl
