#include "init/sys_ops.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <dirent.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "init/netlink.hpp"

namespace berth::init {

static int result(int rc) { return rc < 0 ? -errno : 0; }

int RealSysOps::mount(const std::string& source, const std::string& target, const std::string& type,
                      unsigned long flags, const std::string& data) {
    return result(::mount(source.empty() ? nullptr : source.c_str(), target.c_str(),
                          type.empty() ? nullptr : type.c_str(), flags,
                          data.empty() ? nullptr : data.c_str()));
}

int RealSysOps::umount(const std::string& target, int flags) {
    return result(::umount2(target.c_str(), flags));
}

int RealSysOps::mkdir(const std::string& path, mode_t mode) {
    if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return 0;
    return -errno;
}

int RealSysOps::symlink(const std::string& target, const std::string& link) {
    if (::symlink(target.c_str(), link.c_str()) == 0 || errno == EEXIST) return 0;
    return -errno;
}

int RealSysOps::unlink(const std::string& path) { return ::unlink(path.c_str()) == 0 ? 0 : -errno; }

long RealSysOps::fs_type(const std::string& path) {
    struct statfs st {};
    if (::statfs(path.c_str(), &st) < 0) return -errno;
    return long(st.f_type);
}

}  // namespace berth::init

namespace berth::init {

int RealSysOps::kill(pid_t pid, int sig) { return result(::kill(pid, sig)); }

int RealSysOps::reap_one(pid_t& pid, int& code, int& status) {
    siginfo_t si{};
    int rc;
    while ((rc = ::waitid(P_ALL, 0, &si, WEXITED | WNOHANG)) < 0 && errno == EINTR) {
    }
    if (rc < 0) return -errno;
    if (si.si_pid == 0) return 0;
    pid = si.si_pid;
    code = si.si_code;
    status = si.si_status;
    return 1;
}

int RealSysOps::wait_signal(int timeout_ms) {
    sigset_t all;
    sigfillset(&all);
    timespec ts{timeout_ms / 1000, long(timeout_ms % 1000) * 1000000L};
    int sig = ::sigtimedwait(&all, nullptr, &ts);
    return sig > 0 ? sig : 0;
}

int RealSysOps::spawn_on_console(const std::string& program) {
    pid_t pid = ::fork();
    if (pid < 0) return -errno;
    if (pid > 0) return pid;
    // The child: a session of its own with the console as its terminal, and
    // the signals PID 1 blocks unblocked.
    ::setsid();
    int fd = ::open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd >= 0) {
        ::ioctl(fd, TIOCSCTTY, 1);
        for (int i = 0; i < 3; ++i) ::dup2(fd, i);
        if (fd > 2) ::close(fd);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execl(program.c_str(), program.c_str(), (char*)nullptr);
    ::_exit(127);
}

int RealSysOps::reboot(int cmd) { return result(::reboot(cmd)); }

void RealSysOps::sync() { ::sync(); }

std::optional<std::string> RealSysOps::read_file(const std::string& path) {
    // Image files, /proc and /sys: a FIFO, a device or a huge file in an image
    // must not hold or fill PID 1; the largest it reads (modules.alias) is ~1 MB.
    constexpr std::size_t kMaxBytes = 16u << 20;
    auto text = fs::try_read_regular_file(path, kMaxBytes);
    bool kernel_file = path.rfind("/proc/", 0) == 0 || path.rfind("/sys/", 0) == 0;  // may refuse reads
    if (!text && errno != ENOENT && !kernel_file)
        log::warn("{}: {}", path, errno == EFBIG ? "larger than 16 MiB, not read" : std::strerror(errno));
    return text;
}

int RealSysOps::write_file(const std::string& path, const std::string& data) {
    return fs::try_write_file(path, data) ? 0 : -(errno ? errno : EIO);
}

bool RealSysOps::exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

std::int64_t RealSysOps::now_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void RealSysOps::sleep_ms(int ms) {
    timespec ts{ms / 1000, long(ms % 1000) * 1000000L};
    while (::nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

int RealSysOps::rmdir(const std::string& path) { return result(::rmdir(path.c_str())); }
int RealSysOps::chdir(const std::string& path) { return result(::chdir(path.c_str())); }
int RealSysOps::chroot(const std::string& path) { return result(::chroot(path.c_str())); }
pid_t RealSysOps::getpid() { return ::getpid(); }

std::optional<std::string> RealSysOps::getenv(const std::string& name) {
    const char* v = ::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
}

std::optional<std::vector<std::string>> RealSysOps::list_dir(const std::string& path) {
    if (!fs::is_dir(path)) return std::nullopt;
    try {
        return fs::list_dir(path);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::optional<std::string> RealSysOps::read_head(const std::string& path, std::size_t size) {
    fs::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return std::nullopt;
    std::string buf(size, '\0');
    ssize_t n = ::pread(fd.get(), buf.data(), size, 0);
    if (n < 0) return std::nullopt;
    buf.resize(size_t(n));
    return buf;
}

std::optional<std::string> RealSysOps::read_link(const std::string& path) {
    char buf[4096];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
    if (n < 0 || std::size_t(n) >= sizeof buf) return std::nullopt;
    return std::string(buf, std::size_t(n));
}

int RealSysOps::load_module(const std::string& path, const std::string& params) {
    fs::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return -errno;
    return result(int(::syscall(SYS_finit_module, fd.get(), params.c_str(), 0)));
}

int RealSysOps::sethostname(const std::string& name) { return result(::sethostname(name.data(), name.size())); }

std::string RealSysOps::link_up(const std::string& ifname) { return init::link_up(ifname); }

int RealSysOps::create_file(const std::string& path, mode_t mode) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, mode);
    if (fd < 0) return -errno;
    ::close(fd);
    return 0;
}

int RealSysOps::set_node_owner_mode(const std::string& path, uid_t uid, gid_t gid, mode_t mode) {
    // O_PATH: the device's open() (a tty's, a tape's rewind) never runs.
    fs::Fd fd(::open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return -errno;
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return -errno;
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) return -ENODEV;
    if ((st.st_uid != uid || st.st_gid != gid) && ::fchownat(fd.get(), "", uid, gid, AT_EMPTY_PATH) != 0)
        return -errno;
    if ((st.st_mode & 07777) == mode) return 0;
    // fchmod refuses an O_PATH descriptor; its /proc link names this very node.
    std::string self = "/proc/self/fd/" + std::to_string(fd.get());
    return result(::chmod(self.c_str(), mode));
}

int RealSysOps::set_nofile_limit(unsigned long limit) {
    struct rlimit rl { limit, limit };
    return result(::setrlimit(RLIMIT_NOFILE, &rl));
}

void RealSysOps::ensure_console() {
    if (::fcntl(2, F_GETFD) >= 0) return;
    int fd = ::open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return;
    for (int i = 0; i < 3; ++i) ::dup2(fd, i);
    if (fd > 2) ::close(fd);
}

CopyStats RealSysOps::copy_tree(const std::string& from, const std::string& to, bool move,
                                const std::set<std::string>& skip) {
    return init::copy_tree(from, to, move, skip);
}

namespace {
// Never crosses into another file system (the new root, or anything still mounted).
void remove_same_fs_at(int dir_fd, dev_t dev) {
    DIR* d = ::fdopendir(dir_fd);
    if (!d) {
        ::close(dir_fd);
        return;
    }
    while (struct dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        struct stat st {};
        if (::fstatat(::dirfd(d), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev) continue;
        if (S_ISDIR(st.st_mode)) {
            int sub = ::openat(::dirfd(d), n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) remove_same_fs_at(sub, dev);
            ::unlinkat(::dirfd(d), n.c_str(), AT_REMOVEDIR);
        } else {
            ::unlinkat(::dirfd(d), n.c_str(), 0);
        }
    }
    ::closedir(d);
}
}  // namespace

void RealSysOps::remove_same_fs(const std::string& root) {
    struct stat st {};
    if (::stat(root.c_str(), &st) < 0) return;
    int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) remove_same_fs_at(fd, st.st_dev);
}

int RealSysOps::set_nonblocking(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return -errno;
    return 0;
}

int RealSysOps::set_child_subreaper() { return ::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0 ? 0 : -errno; }

}  // namespace berth::init

namespace berth::init {

int RealSysOps::dm_ioctl(unsigned long request, void* buf) {
    fs::Fd fd(::open("/dev/mapper/control", O_RDWR | O_CLOEXEC));
    if (!fd) return -errno;
    return ::ioctl(fd.get(), request, buf) < 0 ? -errno : 0;
}

}  // namespace berth::init
