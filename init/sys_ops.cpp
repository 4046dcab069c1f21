#include "init/sys_ops.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>

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

long RealSysOps::fs_type(const std::string& path) {
    struct statfs st {};
    if (::statfs(path.c_str(), &st) < 0) return -errno;
    return long(st.f_type);
}

}  // namespace berth::init
