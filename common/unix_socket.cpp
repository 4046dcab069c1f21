#include "common/unix_socket.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"

namespace berth::unix_socket {

sockaddr_un address(const std::string& path, std::string_view what) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path)
        throw Error(std::string(what) + " path `" + path + "` is too long", ENAMETOOLONG);
    path.copy(a.sun_path, sizeof a.sun_path - 1);
    return a;
}

ssize_t send_with_fds(int sock, std::string_view data, const int* fds, size_t count, int flags) {
    iovec iov{const_cast<char*>(data.data()), data.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)] = {};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (count > kMaxFdsPerMessage) {
        errno = EINVAL;
        return -1;
    }
    if (count > 0) {
        m.msg_control = control;
        m.msg_controllen = CMSG_SPACE(sizeof(int) * count);
        cmsghdr* h = CMSG_FIRSTHDR(&m);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(int) * count);
        std::memcpy(CMSG_DATA(h), fds, sizeof(int) * count);
    }
    ssize_t n;
    do {
        n = ::sendmsg(sock, &m, MSG_NOSIGNAL | flags);
    } while (n < 0 && errno == EINTR);
    return n;
}

ssize_t send_with_fd(int sock, std::string_view data, int fd) {
    return send_with_fds(sock, data, &fd, fd >= 0 ? 1 : 0, 0);
}

namespace {

// One recvmsg into `buf` with `control_size` bytes of room for control data;
// every descriptor that arrived goes to `fds`, in order.
template <size_t ControlSize>
ssize_t receive_message(int sock, char* buf, size_t size, int flags, std::vector<int>& fds, pid_t& sender,
                        int& msg_flags) {
    iovec iov{buf, size};
    alignas(cmsghdr) char control[ControlSize];
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    ssize_t n;
    do {
        n = ::recvmsg(sock, &m, flags | MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return n;
    msg_flags = m.msg_flags;
    for (cmsghdr* h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
        if (h->cmsg_level != SOL_SOCKET) continue;
        const unsigned char* data = CMSG_DATA(h);
        size_t len = h->cmsg_len - CMSG_LEN(0);
        if (h->cmsg_type == SCM_RIGHTS) {
            for (size_t off = 0; off + sizeof(int) <= len; off += sizeof(int)) {
                int fd;
                std::memcpy(&fd, data + off, sizeof fd);
                fds.push_back(fd);
            }
        } else if (h->cmsg_type == SCM_CREDENTIALS && len >= sizeof(ucred)) {
            ucred cred;
            std::memcpy(&cred, data, sizeof cred);
            sender = cred.pid;
        }
    }
    return n;
}

}  // namespace

Received receive(int sock, char* buf, size_t size) {
    // Room for the credentials and one descriptor; more descriptors than fit
    // are dropped by the kernel (MSG_CTRUNC), extra ones that fit are closed below.
    Received r;
    std::vector<int> fds;
    int flags = 0;
    r.bytes = receive_message<CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int))>(sock, buf, size, MSG_DONTWAIT,
                                                                                   fds, r.sender, flags);
    if (r.bytes < 0) return r;
    r.data_truncated = (flags & MSG_TRUNC) != 0;
    r.control_truncated = (flags & MSG_CTRUNC) != 0;
    for (size_t i = 0; i < fds.size(); ++i) {
        if (i == 0) r.fd.reset(fds[i]);
        else ::close(fds[i]);
    }
    return r;
}

ReceivedAll receive_all(int sock, char* buf, size_t size, bool wait) {
    ReceivedAll r;
    int flags = 0;
    r.bytes = receive_message<CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)>(
        sock, buf, size, wait ? 0 : MSG_DONTWAIT, r.fds, r.sender, flags);
    return r;
}

}  // namespace berth::unix_socket
