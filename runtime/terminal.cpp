#include "runtime/terminal.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::runtime {

int connect_console_socket(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) throw Error("console socket path `" + path + "` is too long", ENAMETOOLONG);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    fs::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw_errno("console socket");
    int r;
    do {
        r = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    } while (r < 0 && errno == EINTR);
    if (r < 0) throw_errno("connect to console socket `" + path + "`");
    return fd.release();
}

int open_pty_and_send_master(int console, const std::optional<oci::ConsoleSize>& size) {
    fs::Fd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master) throw_errno("open `/dev/ptmx`");
    if (::unlockpt(master.get()) < 0) throw_errno("unlockpt");
    char name[128];
    if (::ptsname_r(master.get(), name, sizeof name) != 0) throw_errno("ptsname");
    fs::Fd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) throw_errno(std::string("open `") + name + "`");
    if (size) {
        winsize ws{};
        ws.ws_row = static_cast<unsigned short>(size->height);
        ws.ws_col = static_cast<unsigned short>(size->width);
        if (::ioctl(slave.get(), TIOCSWINSZ, &ws) < 0) throw_errno("set the console size");
    }

    iovec iov{name, std::strlen(name)};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    int m = master.get();
    std::memcpy(CMSG_DATA(c), &m, sizeof m);
    ssize_t n;
    do {
        n = ::sendmsg(console, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw_errno("send the pty master over the console socket");
    return slave.release();
}

}  // namespace berth::runtime
