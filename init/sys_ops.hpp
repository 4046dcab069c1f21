// The system calls early boot and shutdown make, behind an interface so that the
// boot-step logic is unit-tested without a kernel (dinit's approach). Each method
// returns 0 or -errno; none throws.
#pragma once
#include <sys/types.h>

#include <string>

namespace berth::init {

class SysOps {
public:
    virtual ~SysOps() = default;
    virtual int mount(const std::string& source, const std::string& target, const std::string& type,
                      unsigned long flags, const std::string& data) = 0;
    virtual int umount(const std::string& target, int flags) = 0;
    virtual int mkdir(const std::string& path, mode_t mode) = 0;
    virtual int symlink(const std::string& target, const std::string& link) = 0;
    // f_type of statfs(path), or -errno.
    virtual long fs_type(const std::string& path) = 0;
};

// The real thing.
class RealSysOps final : public SysOps {
public:
    int mount(const std::string& source, const std::string& target, const std::string& type,
              unsigned long flags, const std::string& data) override;
    int umount(const std::string& target, int flags) override;
    int mkdir(const std::string& path, mode_t mode) override;
    int symlink(const std::string& target, const std::string& link) override;
    long fs_type(const std::string& path) override;
};

}  // namespace berth::init
