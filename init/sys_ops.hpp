// The system calls early boot (the initramfs hand-over, mounts, modules,
// sysctl), shutdown and the emergency path make, behind an
// interface so that their logic is unit-tested without a kernel (dinit's
// approach). Each method returns 0 (or a value) or -errno; none throws.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "init/copy_tree.hpp"

namespace berth::init {

class SysOps {
public:
    virtual ~SysOps() = default;
    virtual int mount(const std::string& source, const std::string& target, const std::string& type,
                      unsigned long flags, const std::string& data) = 0;
    virtual int umount(const std::string& target, int flags) = 0;
    virtual int mkdir(const std::string& path, mode_t mode) = 0;
    virtual int symlink(const std::string& target, const std::string& link) = 0;
    virtual int unlink(const std::string& path) = 0;
    // f_type of statfs(path), or -errno.
    virtual long fs_type(const std::string& path) = 0;

    // Signals and processes.
    virtual int kill(pid_t pid, int sig) = 0;
    // Reaps one exited child: 1 (pid, si_code and si_status filled), 0 when
    // children exist but none has exited, -ECHILD when there are none.
    virtual int reap_one(pid_t& pid, int& code, int& status) = 0;
    // Waits up to timeout_ms for one of the (blocked) signals: its number, or 0.
    virtual int wait_signal(int timeout_ms) = 0;
    // /bin/sh-like program on the console as a session leader: its pid, or -errno.
    virtual int spawn_on_console(const std::string& program) = 0;
    virtual int reboot(int cmd) = 0;
    virtual void sync() = 0;

    // Files: /proc and /sys reads (mountinfo, cmdline), cgroup writes.
    virtual std::optional<std::string> read_file(const std::string& path) = 0;
    virtual int write_file(const std::string& path, const std::string& data) = 0;
    virtual bool exists(const std::string& path) = 0;

    // Monotonic time.
    virtual std::int64_t now_ms() = 0;
    virtual void sleep_ms(int ms) = 0;

    // Early boot: the initramfs hand-over, modules, sysctl, hostname.
    virtual int rmdir(const std::string& path) = 0;
    virtual int chdir(const std::string& path) = 0;
    virtual int chroot(const std::string& path) = 0;
    virtual pid_t getpid() = 0;
    virtual std::optional<std::string> getenv(const std::string& name) = 0;
    // Sorted names in a directory (no . and ..), or nullopt when it cannot be read.
    virtual std::optional<std::vector<std::string>> list_dir(const std::string& path) = 0;
    // The first `size` bytes of a file (a block device's signature), or nullopt.
    virtual std::optional<std::string> read_head(const std::string& path, std::size_t size) = 0;
    // A symbolic link's target as written; nullopt when it is none.
    virtual std::optional<std::string> read_link(const std::string& path) = 0;
    // finit_module(2) of the file with its parameters: 0 or -errno (-EEXIST: loaded already).
    virtual int load_module(const std::string& path, const std::string& params) = 0;
    virtual int sethostname(const std::string& name) = 0;
    virtual std::string link_up(const std::string& ifname) = 0;  // "" or the reason
    virtual int create_file(const std::string& path, mode_t mode) = 0;  // kept when present
    // chown and chmod of a device node, never following a symbolic link and never
    // opening the device: 0, -ENODEV when `path` is not a character or block
    // node, or -errno.
    virtual int set_node_owner_mode(const std::string& path, uid_t uid, gid_t gid, mode_t mode) = 0;
    virtual int set_nofile_limit(unsigned long limit) = 0;
    // 0/1/2 on /dev/console when the kernel left them closed.
    virtual void ensure_console() = 0;
    virtual CopyStats copy_tree(const std::string& from, const std::string& to, bool move,
                                const std::set<std::string>& skip) = 0;
    // Deletes what lies below `root` on root's own file system (frees an initramfs).
    virtual void remove_same_fs(const std::string& root) = 0;

    // The supervisor's process setup.
    virtual int set_nonblocking(int fd) = 0;
    virtual int set_child_subreaper() = 0;
    // One device-mapper ioctl on /dev/mapper/control; `buf` is a struct dm_ioctl
    // with its payload (updated in place by the kernel). 0 or -errno.
    virtual int dm_ioctl(unsigned long request, void* buf) = 0;
};

// The real thing.
class RealSysOps final : public SysOps {
public:
    int mount(const std::string& source, const std::string& target, const std::string& type,
              unsigned long flags, const std::string& data) override;
    int umount(const std::string& target, int flags) override;
    int mkdir(const std::string& path, mode_t mode) override;
    int symlink(const std::string& target, const std::string& link) override;
    int unlink(const std::string& path) override;
    long fs_type(const std::string& path) override;
    int kill(pid_t pid, int sig) override;
    int reap_one(pid_t& pid, int& code, int& status) override;
    int wait_signal(int timeout_ms) override;
    int spawn_on_console(const std::string& program) override;
    int reboot(int cmd) override;
    void sync() override;
    std::optional<std::string> read_file(const std::string& path) override;
    int write_file(const std::string& path, const std::string& data) override;
    bool exists(const std::string& path) override;
    std::int64_t now_ms() override;
    void sleep_ms(int ms) override;
    int rmdir(const std::string& path) override;
    int chdir(const std::string& path) override;
    int chroot(const std::string& path) override;
    pid_t getpid() override;
    std::optional<std::string> getenv(const std::string& name) override;
    std::optional<std::vector<std::string>> list_dir(const std::string& path) override;
    std::optional<std::string> read_head(const std::string& path, std::size_t size) override;
    std::optional<std::string> read_link(const std::string& path) override;
    int load_module(const std::string& path, const std::string& params) override;
    int sethostname(const std::string& name) override;
    std::string link_up(const std::string& ifname) override;
    int create_file(const std::string& path, mode_t mode) override;
    int set_node_owner_mode(const std::string& path, uid_t uid, gid_t gid, mode_t mode) override;
    int set_nofile_limit(unsigned long limit) override;
    void ensure_console() override;
    CopyStats copy_tree(const std::string& from, const std::string& to, bool move,
                        const std::set<std::string>& skip) override;
    void remove_same_fs(const std::string& root) override;
    int set_nonblocking(int fd) override;
    int set_child_subreaper() override;
    int dm_ioctl(unsigned long request, void* buf) override;
};

}  // namespace berth::init
