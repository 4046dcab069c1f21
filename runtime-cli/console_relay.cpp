#include "runtime-cli/console_relay.hpp"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/reap.hpp"
#include "common/unix_socket.hpp"

namespace berth::runc {

namespace {

// Writes all of `n` bytes, waiting while `fd` is full; false once it is gone.
bool write_all(int fd, const char* p, size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) {
            pollfd pf{fd, POLLOUT, 0};
            ::poll(&pf, 1, 100);
            continue;
        }
        if (w <= 0) return false;
        p += w;
        n -= size_t(w);
    }
    return true;
}

void copy_size(int from, int to) {
    winsize ws{};
    if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

// The caller's terminal in raw mode for as long as the relay runs.
class RawTerminal {
public:
    explicit RawTerminal(int fd) : fd_(fd) {
        if (!::isatty(fd) || ::tcgetattr(fd, &saved_) < 0) return;
        termios raw = saved_;
        ::cfmakeraw(&raw);
        active_ = ::tcsetattr(fd, TCSANOW, &raw) == 0;
    }
    ~RawTerminal() {
        if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
    }

private:
    int fd_;
    termios saved_{};
    bool active_ = false;
};

}  // namespace

ConsoleRelay::ConsoleRelay(const std::string& dir) {
    path_ = fmt::format("{}/.console-{}.sock", dir, ::getpid());
    ::unlink(path_.c_str());
    sockaddr_un addr = unix_socket::address(path_, "console socket");
    listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listener_) throw_errno("console socket");
    if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        throw_errno(fmt::format("bind the console socket `{}`", path_));
    if (::listen(listener_.get(), 1) < 0) throw_errno("listen on the console socket");
}

ConsoleRelay::~ConsoleRelay() { ::unlink(path_.c_str()); }

int ConsoleRelay::relay(pid_t pid, const sigset_t& forwarded) {
    // The process sent the master during its set-up, which launch() waited for.
    pollfd lp{listener_.get(), POLLIN, 0};
    if (::poll(&lp, 1, 10000) <= 0) throw Error("the container's terminal did not arrive within 10 s", ETIMEDOUT);
    fs::Fd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) throw_errno("accept on the console socket");
    char name[256];
    pollfd cp{conn.get(), POLLIN, 0};
    ::poll(&cp, 1, 10000);
    unix_socket::Received got = unix_socket::receive(conn.get(), name, sizeof name);
    if (!got.fd) throw Error("the container sent no terminal over the console socket", EPROTO);
    ::unlink(path_.c_str());
    const int master = got.fd.get();

    fs::Fd signals(::signalfd(-1, &forwarded, SFD_CLOEXEC));
    if (!signals) throw_errno("signalfd");
    RawTerminal raw(STDIN_FILENO);
    copy_size(STDIN_FILENO, master);

    bool input_open = true, master_open = true;
    std::optional<int> status;
    char buf[8192];
    while (true) {
        pollfd fds[3] = {{master_open ? master : -1, POLLIN, 0},
                         {signals.get(), POLLIN, 0},
                         {input_open ? STDIN_FILENO : -1, POLLIN, 0}};
        if (::poll(fds, 3, status ? 0 : -1) < 0 && errno != EINTR) throw_errno("poll the terminal");
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = ::read(master, buf, sizeof buf);
            if (n > 0) {
                write_all(STDOUT_FILENO, buf, size_t(n));
                continue;  // drain what the process wrote before looking at its end
            }
            // EIO: every slave is closed; the end comes with SIGCHLD.
            if (n == 0 || errno != EINTR) master_open = false;
        } else if (status) {
            break;  // ended, and nothing more to read
        }
        if (fds[1].revents & POLLIN) {
            signalfd_siginfo si{};
            if (::read(signals.get(), &si, sizeof si) == ssize_t(sizeof si)) {
                if (si.ssi_signo == SIGWINCH) copy_size(STDIN_FILENO, master);
                else if (si.ssi_signo != SIGCHLD) ::kill(pid, int(si.ssi_signo));
            }
        }
        if (input_open && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
            if (n > 0) write_all(master, buf, size_t(n));
            else if (n == 0 || errno != EINTR) input_open = false;  // the input ended: the terminal stays
        }
        if (!status)
            if (auto st = proc::try_reap(pid)) status = WIFEXITED(*st) ? WEXITSTATUS(*st) : 128 + WTERMSIG(*st);
        if (status && !master_open) break;
    }
    return *status;
}

}  // namespace berth::runc
