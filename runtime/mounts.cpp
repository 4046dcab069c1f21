#include "runtime/mounts.hpp"

#include "runtime/cgroup.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstring>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "runtime/idmap_mounts.hpp"
#include "runtime/mount_options.hpp"
#include "runtime/path_resolve.hpp"

namespace berth::runtime {
namespace {

constexpr unsigned long kAtimeMask = MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;

std::string describe(const oci::Mount& m, const std::string& type) {
    return fmt::format("mount `{}` (type {}, source `{}`)", m.destination, type.empty() ? "none" : type,
                       m.source);
}

// MS_BIND ignores every other flag: "ro", "nosuid"... need a remount.
void remount_bind_flags(const std::string& target, const MountOptions& o, const std::string& what) {
    unsigned long extra = o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    if (extra == 0) return;
    unsigned long flags = MS_REMOUNT | MS_BIND | extra;
    unsigned long cur = current_mount_flags(target);
    // Keep what the kernel may have locked (user namespaces) unless overridden.
    flags |= cur & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
    if (!o.atime_set) flags |= cur & kAtimeMask;
    if (::mount(nullptr, target.c_str(), nullptr, flags, nullptr) < 0)
        throw_errno(what + ": remount with options");
}

void bind_mount(const std::string& source, const std::string& target,
                const MountOptions& o, const std::string& what) {
    if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND | (o.flags & MS_REC), nullptr) < 0)
        throw_errno(what);
    remount_bind_flags(target, o, what);
}

}  // namespace

unsigned long current_mount_flags(const std::string& path) {
    struct statvfs sv;
    if (::statvfs(path.c_str(), &sv) < 0) throw_errno("statvfs `" + path + "`");
    unsigned long f = 0;
    if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
    if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
    if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
    return f;
}

void remount_readonly(const std::string& path, unsigned long extra_flags) {
    unsigned long cur = current_mount_flags(path);
    unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY | extra_flags |
                          (cur & (MS_NOSUID | MS_NODEV | MS_NOEXEC | kAtimeMask));
    if (::mount(nullptr, path.c_str(), nullptr, flags, nullptr) < 0)
        throw_errno("remount `" + path + "` read-only");
}

std::string with_mount_label(const std::string& data, const std::string& type, const std::string& label) {
    if (label.empty() || (type != "tmpfs" && type != "devpts" && type != "mqueue")) return data;
    std::string ctx = fmt::format("context=\"{}\"", label);
    return data.empty() ? ctx : data + "," + ctx;
}

void do_mounts(const MountContext& ctx, const std::vector<oci::Mount>& mounts) {
    for (size_t index = 0; index < mounts.size(); ++index) {
        const oci::Mount& m = mounts[index];
        MountOptions o = parse_mount_options(m.options);
        bool bind = m.type == "bind" || o.is_bind();
        // "cgroup" is the unified hierarchy on a cgroup v2 host; on a v1 or
        // hybrid host, a tmpfs holding one directory per hierarchy.
        if (m.type == "cgroup" && !cgroup_host().pure_v2()) {
            std::string target = with_context("cgroup", [&] { return resolve_in_root(ctx.rootfs, m.destination); });
            with_context("cgroup: mount point", [&] { create_mount_point(target, false); });
            with_context(describe(m, "cgroup"), [&] {
                mount_cgroup_v1_tree(target, parse_mount_options(m.options).flags, ctx.own_cgroup_ns);
            });
            continue;
        }
        std::string type = m.type == "cgroup" ? "cgroup2" : m.type;
        std::string what = describe(m, bind ? std::string("bind") : type);

        std::string source = m.source;
        if (bind && !source.empty() && source[0] != '/') source = fs::join(ctx.bundle_dir, source);
        if (!bind && source.empty()) source = type;

        std::string target = with_context(what, [&] { return resolve_in_root(ctx.rootfs, m.destination); });
        bool as_file = false;
        if (bind) {
            struct stat st;
            if (::stat(source.c_str(), &st) < 0) throw_errno(what + ": source");
            as_file = !S_ISDIR(st.st_mode);
        }
        with_context(what + ": mount point", [&] { create_mount_point(target, as_file); });

        const int tree = ctx.idmapped ? ctx.idmapped->fd_for(index) : -1;
        const std::string data = with_mount_label(o.data, type, ctx.mount_label);
        if (tree >= 0) {
            o.flags |= MS_BIND;
            with_context(what, [&] { attach_tree(tree, target); });
            remount_bind_flags(target, o, what);
        } else if (bind) {
            o.flags |= MS_BIND;  // type "bind" without "rbind" is non-recursive, as in runc
            bind_mount(source, target, o, what);
        } else if (::mount(source.c_str(), target.c_str(), type.c_str(), o.flags,
                           data.empty() ? nullptr : data.c_str()) < 0) {
            int err = errno;
            // sysfs cannot be mounted in a user namespace that does not own the
            // network namespace; like runc/crun, fall back to the host's /sys.
            if (type == "sysfs" && ctx.user_ns && (err == EPERM || err == EACCES)) {
                log::warn("{}: {}; using a read-only bind of /sys instead", what, std::strerror(err));
                MountOptions b = o;
                b.flags |= MS_BIND | MS_REC | MS_RDONLY;
                bind_mount("/sys", target, b, what);
            } else {
                throw_errno(what, err);
            }
        }
        if (o.propagation && ::mount(nullptr, target.c_str(), nullptr, o.propagation, nullptr) < 0)
            throw_errno(what + ": set propagation");
    }
}

}  // namespace berth::runtime
