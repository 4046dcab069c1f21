// The system calls early boot, shutdown and the emergency path make, behind an
// interface so that their logic is unit-tested without a kernel (dinit's
// approach). Each method returns 0 (or a value) or -errno; none throws.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <optional>
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
};

}  // namespace berth::init
