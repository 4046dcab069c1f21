#include "init/namespace_binding.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::init {

void bind_namespaces(const std::map<std::string, std::string>& binds, pid_t pid, const std::string& where) {
    for (const auto& [type, path] : binds) {
        const std::string what = where + ": bindNS." + type + " `" + path + "`";
        with_context(what, [&] { fs::mkdir_p(path.substr(0, path.rfind('/')), 0755); });
        // A restarted container replaces its earlier namespace at the path;
        // only a namespace bind is detached there, never another file system.
        struct statfs st {};
        if (::statfs(path.c_str(), &st) == 0 && st.f_type == NSFS_MAGIC)
            ::umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
        fs::Fd file(::open(path.c_str(), O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0444));
        if (!file) throw_errno(what + ": create the mount point");
        const std::string source = "/proc/" + std::to_string(pid) + "/ns/" + type;
        if (::mount(source.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) < 0)
            throw_errno(what + ": bind " + source);
    }
}

void release_parked(const std::string& fifo_path, int pidfd, const std::string& name, int timeout_ms) {
    fs::Fd fifo(::open(fifo_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fifo) throw_errno("container `" + name + "`: open the exec fifo `" + fifo_path + "`");
    const auto deadline = clock::monotonic_ms() + timeout_ms;
    for (;;) {
        auto left = deadline - clock::monotonic_ms();
        if (left <= 0)
            throw Error("container `" + name + "`: the process did not take the start signal within " +
                            std::to_string(timeout_ms) + " ms",
                        ETIMEDOUT);
        pollfd p[2] = {{fifo.get(), POLLIN, 0}, {pidfd, POLLIN, 0}};
        int r = ::poll(p, pidfd >= 0 ? 2 : 1, int(left));
        if (r < 0 && errno != EINTR) throw_errno("container `" + name + "`: poll the exec fifo");
        if (r <= 0) continue;
        if (p[0].revents & (POLLIN | POLLHUP)) {
            char b;
            ssize_t n = ::read(fifo.get(), &b, 1);
            if (n == 1) return;
            if (n == 0)
                throw Error("container `" + name + "`: the process closed the exec fifo without starting", EPIPE);
        }
        if (pidfd >= 0 && (p[1].revents & POLLIN))
            throw Error("container `" + name + "`: the process exited before it could start", ESRCH);
    }
}

}  // namespace berth::init
