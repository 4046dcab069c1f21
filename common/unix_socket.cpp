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

ssize_t send_with_fd(int sock, std::string_view data, int fd) {
    iovec iov{const_cast<char*>(data.data()), data.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (fd >= 0) {
        m.msg_control = control;
        m.msg_controllen = sizeof control;
        cmsghdr* h = CMSG_FIRSTHDR(&m);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(h), &fd, sizeof fd);
    }
    ssize_t n;
    do {
        n = ::sendmsg(sock, &m, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
}

Received receive(int sock, char* buf, size_t size) {
    Received r;
    iovec iov{buf, size};
    // Room for the credentials and one descriptor; more descriptors than fit
    // are dropped by the kernel (MSG_CTRUNC), extra ones that fit are closed below.
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int))];
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    do {
        r.bytes = ::recvmsg(sock, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } while (r.bytes < 0 && errno == EINTR);
    if (r.bytes < 0) return r;
    r.data_truncated = (m.msg_flags & MSG_TRUNC) != 0;
    r.control_truncated = (m.msg_flags & MSG_CTRUNC) != 0;
    for (cmsghdr* h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
        if (h->cmsg_level != SOL_SOCKET) continue;
        const unsigned char* data = CMSG_DATA(h);
        size_t len = h->cmsg_len - CMSG_LEN(0);
        if (h->cmsg_type == SCM_RIGHTS) {
            for (size_t off = 0; off + sizeof(int) <= len; off += sizeof(int)) {
                int fd;
                std::memcpy(&fd, data + off, sizeof fd);
                if (!r.fd) r.fd.reset(fd);
                else ::close(fd);
            }
        } else if (h->cmsg_type == SCM_CREDENTIALS && len >= sizeof(ucred)) {
            ucred cred;
            std::memcpy(&cred, data, sizeof cred);
            r.sender = cred.pid;
        }
    }
    return r;
}

ReceivedAll receive_all(int sock, char* buf, size_t size) {
    constexpr size_t kMaxFds = 253;  // SCM_MAX_FD: the most one message carries
    ReceivedAll r;
    iovec iov{buf, size};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * kMaxFds)];
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    do {
        r.bytes = ::recvmsg(sock, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } while (r.bytes < 0 && errno == EINTR);
    if (r.bytes < 0) return r;
    for (cmsghdr* h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
        if (h->cmsg_level != SOL_SOCKET) continue;
        size_t len = h->cmsg_len - CMSG_LEN(0);
        if (h->cmsg_type == SCM_RIGHTS) {
            for (size_t off = 0; off + sizeof(int) <= len; off += sizeof(int)) {
                int fd;
                std::memcpy(&fd, CMSG_DATA(h) + off, sizeof fd);
                r.fds.push_back(fd);
            }
        } else if (h->cmsg_type == SCM_CREDENTIALS && len >= sizeof(ucred)) {
            ucred cred;
            std::memcpy(&cred, CMSG_DATA(h), sizeof cred);
            r.sender = cred.pid;
        }
    }
    return r;
}

}  // namespace berth::unix_socket
