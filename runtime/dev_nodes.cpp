#include "runtime/dev_nodes.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/error.hpp"
#include "runtime/path_resolve.hpp"

namespace berth::runtime {
namespace {

constexpr mode_t kDefaultMode = 0666;

mode_t file_type(char type) {
    switch (type) {
        case 'b': return S_IFBLK;
        case 'p': return S_IFIFO;
        default: return S_IFCHR;  // 'c' and 'u'
    }
}

// The node at `st` is already what the spec asks for.
bool matches(const struct stat& st, const oci::Device& d) {
    if ((st.st_mode & S_IFMT) != file_type(d.type)) return false;
    return d.type == 'p' || st.st_rdev == makedev(unsigned(d.major), unsigned(d.minor));
}

std::string describe(const oci::Device& d) {
    return d.type == 'p' ? fmt::format("linux.devices `{}` (p)", d.path)
                         : fmt::format("linux.devices `{}` ({} {}:{})", d.path, d.type, d.major, d.minor);
}

void bind_host_node(const oci::Device& d, const std::string& target) {
    struct stat st;
    if (::stat(d.path.c_str(), &st) < 0) throw_errno(describe(d) + ": host node to bind in a user namespace");
    if (!matches(st, d))
        throw Error(fmt::format("{}: the host's `{}` is a different device; in a user namespace it is bound, not made",
                                describe(d), d.path), EINVAL);
    create_mount_point(target, true);
    if (::mount(d.path.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) < 0)
        throw_errno(describe(d) + ": bind from the host");
}

void make_node(const oci::Device& d, const std::string& target) {
    const mode_t mode = d.file_mode.value_or(kDefaultMode);
    struct stat st;
    if (::lstat(target.c_str(), &st) == 0) {
        // The rootfs's own node, or a link of the default set: replace it.
        if (S_ISDIR(st.st_mode)) throw Error(describe(d) + ": a directory is in the way", EISDIR);
        if (!matches(st, d) && ::unlink(target.c_str()) < 0) throw_errno(describe(d) + ": remove what is in the way");
    } else if (errno != ENOENT) {
        throw_errno(describe(d) + ": lstat");
    }
    create_mount_point(target.substr(0, target.rfind('/')), false);  // the parent directories
    if (::mknod(target.c_str(), file_type(d.type) | mode, makedev(unsigned(d.major), unsigned(d.minor))) < 0 &&
        errno != EEXIST)
        throw_errno(describe(d) + ": mknod");
    // mknod is subject to the umask; the spec's mode is not.
    if (::chmod(target.c_str(), mode) < 0) throw_errno(describe(d) + ": chmod");
    if (::lchown(target.c_str(), d.uid.value_or(0), d.gid.value_or(0)) < 0) throw_errno(describe(d) + ": chown");
}

}  // namespace

bool device_listed(const std::vector<oci::Device>& devices, const std::string& name) {
    for (const auto& d : devices)
        if (d.path == "/dev/" + name) return true;
    return false;
}

void create_device_nodes(const std::string& rootfs, const std::vector<oci::Device>& devices, bool bind_from_host) {
    if (devices.empty()) return;
    const std::string dev = resolve_in_root(rootfs, "/dev") + "/";
    for (const auto& d : devices) {
        const std::string target = resolve_in_root(rootfs, d.path);
        if (target.compare(0, dev.size(), dev) != 0 || target.size() == dev.size())
            throw Error(fmt::format("{}: resolves to `{}`, outside the container's /dev (a symlink in the rootfs)",
                                    describe(d), target.substr(rootfs.size())),
                        EXDEV);
        if (bind_from_host && d.type != 'p')
            bind_host_node(d, target);
        else
            make_node(d, target);
    }
}

}  // namespace berth::runtime
