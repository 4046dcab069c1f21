#include "ctl/ctl_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/error.hpp"

namespace berth::ctl {

using json = nlohmann::json;

CtlConnection::CtlConnection(const std::string& path) {
    fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd_) throw_errno("socket");
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    path.copy(a.sun_path, sizeof a.sun_path - 1);
    if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0)
        throw_errno("connect to " + path + " (is berth PID 1 running?)");
}

json CtlConnection::request(const json& req) {
    std::string line = req.dump() + "\n";
    if (::send(fd_.get(), line.data(), line.size(), MSG_NOSIGNAL) != ssize_t(line.size())) throw_errno("send");
    json r = next();
    if (r.is_null()) throw Error("PID 1 closed the connection without a reply");
    return r;
}

json CtlConnection::next() {
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
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("read reply");
        if (n == 0) return nullptr;
        buf_.append(b, size_t(n));
    }
}

}  // namespace berth::ctl
