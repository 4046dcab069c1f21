#include "runtime/rootfs.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/mountinfo.hpp"
#include "runtime/dev_nodes.hpp"
#include "runtime/mount_options.hpp"
#include "runtime/mounts.hpp"
#include "runtime/path_resolve.hpp"

namespace berth::runtime {
namespace {

bool is_shared(unsigned long prop) { return (prop & MS_SHARED) != 0; }

unsigned long checked_propagation(const std::string& name) {
    unsigned long p = propagation_flags(name);
    if (!p) throw Error("rootfsPropagation: unknown value `" + name + "`", EINVAL);
    return p;
}

// The mount point of the mount holding `path` (a canonical path): the longest mount
// point in /proc/self/mountinfo that is `path` or one of its parents.
std::string mount_point_of(const std::string& path) {
    std::string best = "/";
    for (const auto& e : mountinfo::parse(fs::read_file("/proc/self/mountinfo"))) {
        const std::string& point = e.mount_point;
        bool holds = point == "/" || path == point || path.rfind(point + "/", 0) == 0;
        if (holds && point.size() > best.size()) best = point;
    }
    return best;
}

constexpr const char* kDevices[] = {"null", "zero", "full", "random", "urandom", "tty"};

constexpr std::pair<const char*, const char*> kDevLinks[] = {
    {"fd", "/proc/self/fd"},
    {"stdin", "/proc/self/fd/0"},
    {"stdout", "/proc/self/fd/1"},
    {"stderr", "/proc/self/fd/2"},
    {"ptmx", "pts/ptmx"},
    {"core", "/proc/kcore"},  // as runc and crun provide it (masked by the default paths)
};

}  // namespace

void prepare_rootfs(const std::string& rootfs, const std::string& propagation) {
    unsigned long p = checked_propagation(propagation);
    if (!fs::is_dir(rootfs)) throw Error("rootfs `" + rootfs + "`: not a directory", ENOTDIR);
    if (p & MS_UNBINDABLE) {
        // An unbindable rootfs could not be bound onto itself: private now,
        // unbindable once it is the root (finish_propagation).
        if (::mount(nullptr, "/", nullptr, MS_PRIVATE | MS_REC, nullptr) < 0)
            throw_errno("set the propagation of `/`");
    } else if (!is_shared(p)) {
        if (::mount(nullptr, "/", nullptr, p | MS_REC, nullptr) < 0) throw_errno("set the propagation of `/`");
    } else {
        // Shared (LinuxKit's `binds: /var:/var:rshared` with `rootfsPropagation: shared`,
        // so that a mount made in the container shows on the host): the host's mounts
        // stay peers of ours. Only `/` and the mount holding the rootfs go private (not
        // recursively), as runc does, so the rootfs bind below does not propagate and
        // neither pivot_root nor its MS_MOVE fallback can reach the host's root.
        char* real = ::realpath(rootfs.c_str(), nullptr);
        if (!real) throw_errno("rootfs `" + rootfs + "`");
        std::string canonical(real);
        std::free(real);
        for (const std::string& m : {std::string("/"), mount_point_of(canonical)})
            if (::mount(nullptr, m.c_str(), nullptr, MS_PRIVATE, nullptr) < 0)
                throw_errno("make `" + m + "` private");
    }
    if (::mount(rootfs.c_str(), rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
        throw_errno("bind rootfs `" + rootfs + "`");
}

bool dev_is_tmpfs(const std::vector<oci::Mount>& mounts) {
    for (const auto& m : mounts)
        if (m.destination == "/dev" || m.destination == "/dev/") return m.type == "tmpfs";
    return false;
}

bool dev_is_nodev(const std::vector<oci::Mount>& mounts) {
    for (const auto& m : mounts)
        if (m.destination == "/dev" || m.destination == "/dev/")
            return std::find(m.options.begin(), m.options.end(), "nodev") != m.options.end();
    return false;
}

void setup_dev(const std::string& rootfs, const std::vector<oci::Device>& devices, bool bind_from_host) {
    const std::string dev = resolve_in_root(rootfs, "/dev");
    // mknod's mode is not to be narrowed by the runtime's umask (the process
    // gets its own umask later).
    const mode_t old_umask = ::umask(0);
    for (const char* name : kDevices) {
        if (device_listed(devices, name)) continue;
        std::string host = std::string("/dev/") + name;
        struct stat st;
        if (::stat(host.c_str(), &st) < 0 || !S_ISCHR(st.st_mode)) {
            log::debug("/dev/{} missing on the host, not provided to the container", name);
            continue;
        }
        std::string target = fs::join(dev, name);
        // A node of the host's numbers and mode, as runc and crun make them: one
        // syscall, and no mount for the namespace to copy and tear down at exit.
        // Where mknod is not allowed (a user namespace, a runtime without
        // CAP_MKNOD) or would be unusable (a nodev /dev), the host's node is bound.
        if (!bind_from_host) {
            if (::mknod(target.c_str(), S_IFCHR | (st.st_mode & 07777), st.st_rdev) == 0) continue;
            if (errno != EPERM) {
                int err = errno;
                ::umask(old_umask);
                throw_errno("mknod `/dev/" + std::string(name) + "`", err);
            }
        }
        create_mount_point(target, true);
        if (::mount(host.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) < 0) {
            int err = errno;
            ::umask(old_umask);
            throw_errno("bind `" + host + "`", err);
        }
    }
    ::umask(old_umask);
    for (const auto& [name, to] : kDevLinks) {
        std::string link = fs::join(dev, name);
        if (::symlink(to, link.c_str()) < 0 && errno != EEXIST) throw_errno("symlink `/dev/" + std::string(name) + "`");
    }
}

void enter_rootfs(const std::string& rootfs) {
    fs::Fd oldroot(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!oldroot) throw_errno("open `/`");
    fs::Fd newroot(::open(rootfs.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!newroot) throw_errno("open `" + rootfs + "`");
    if (::fchdir(newroot.get()) < 0) throw_errno("chdir `" + rootfs + "`");

    // pivot_root(".", ".") stacks the old root on top of the new one; it is
    // then detached from the old root's point of view (as runc does).
    if (::syscall(SYS_pivot_root, ".", ".") == 0) {
        if (::fchdir(oldroot.get()) < 0) throw_errno("chdir old root");
        // Slave first so the detach does not propagate to the host.
        if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
            throw_errno("make old root slave");
        // The detach waits for an RCU grace period. Done here, as crun does:
        // a helper process overlapping it with the rest of the setup cost
        // more (its fork) than the wait it hid (docs/runtime.md, Speed).
        if (::umount2(".", MNT_DETACH) < 0) throw_errno("detach old root");
        if (::chdir("/") < 0) throw_errno("chdir `/`");
        return;
    }
    // The initramfs (rootfs) cannot be pivoted away from: EINVAL.
    log::info("pivot_root into `{}`: {}; using MS_MOVE and chroot", rootfs, std::strerror(errno));
    if (::mount(rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr) < 0) throw_errno("move rootfs to `/`");
    if (::chroot(".") < 0) throw_errno("chroot");
    if (::chdir("/") < 0) throw_errno("chdir `/`");
}

void finish_propagation(const std::string& propagation) {
    unsigned long p = checked_propagation(propagation);
    if (is_shared(p) && ::mount(nullptr, "/", nullptr, p | MS_REC, nullptr) < 0)
        throw_errno("make `/` shared");
    if ((p & MS_UNBINDABLE) && ::mount(nullptr, "/", nullptr, MS_UNBINDABLE | MS_REC, nullptr) < 0)
        throw_errno("make `/` unbindable");
}

void mask_paths(const std::vector<std::string>& paths) {
    for (const auto& p : paths) {
        struct stat st;
        if (::stat(p.c_str(), &st) < 0) {
            if (errno == ENOENT) continue;  // nothing to hide
            throw_errno("mask `" + p + "`");
        }
        int r = S_ISDIR(st.st_mode)
                    ? ::mount("tmpfs", p.c_str(), "tmpfs", MS_RDONLY, "size=0")
                    : ::mount("/dev/null", p.c_str(), nullptr, MS_BIND, nullptr);
        if (r < 0) throw_errno("mask `" + p + "`");
    }
}

void readonly_paths(const std::vector<std::string>& paths) {
    for (const auto& p : paths) {
        if (::mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
            if (errno == ENOENT) continue;
            throw_errno("bind `" + p + "` read-only");
        }
        remount_readonly(p);
    }
}

void readonly_root() { remount_readonly("/"); }

}  // namespace berth::runtime
