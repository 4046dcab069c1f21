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
#include "common/unix_socket.hpp"

namespace berth::runtime {

int connect_console_socket(const std::string& path) {
    sockaddr_un addr = unix_socket::address(path, "console socket");
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

    if (unix_socket::send_with_fd(console, name, master.get()) < 0) throw_errno("send the pty master over the console socket");
    return slave.release();
}

}  // namespace berth::runtime
