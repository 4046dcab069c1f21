// What PID 1 prepares for the supervisor once early boot is done: its runtime
// directories, the `berth` CLI link, its cgroup subtree, the console as a
// non-blocking log sink and the subreaper flag. Every call goes through the
// SysOps seam and every failure is logged with its path and errno; none of
// them stops the boot (the feature that needs it is lost, loudly).
#pragma once
#include <string>

#include "common/console_output.hpp"
#include "init/sys_ops.hpp"
#include "supervisor/event_loop.hpp"

namespace berth::init {

// mkdir -p through the seam: 0, or -errno of the first component that failed
// (`failed_at` names it).
int make_directories(SysOps& sys, const std::string& path, mode_t mode, std::string* failed_at = nullptr);

// /sys/fs/cgroup/berth with onboot, services and onshutdown below it, each
// with every controller enabled for its children. Returns the root, or "" when
// there is no cgroup2 or a directory cannot be made (containers then run in
// PID 1's cgroup).
std::string prepare_cgroups(SysOps& sys, bool have_cgroup2);

struct SupervisorDirs {
    bool notify = false;   // /run/berth/notify exists: NOTIFY_SOCKET works
    bool cli_link = false; // /run/berth/bin/berth -> /init
};
SupervisorDirs prepare_runtime_dirs(SysOps& sys);

// fd 1 non-blocking (a slow serial console delays lines, never PID 1) and
// PID 1 a child subreaper (containers outlive their launch processes and come
// back to it, also when berth-init runs under another init).
void prepare_process(SysOps& sys);

// PID 1's console queue on fd 1, made once, living until reboot. PID 1's own
// log goes through it too when fd 2 is the same file (the kernel gives PID 1
// /dev/console as fds 0, 1 and 2), so that its lines and the services' keep
// their order.
ConsoleOutput& pid1_console();

// Watches the console for EPOLLOUT while its queue holds lines, and writes
// them out then; undone when it goes out of scope, before the loop does.
class ConsoleWatch {
public:
    ConsoleWatch(supervisor::EventLoop& loop, ConsoleOutput& console);
    ~ConsoleWatch();
    ConsoleWatch(const ConsoleWatch&) = delete;
    ConsoleWatch& operator=(const ConsoleWatch&) = delete;

private:
    void set(bool watched);
    supervisor::EventLoop& loop_;
    ConsoleOutput& console_;
    bool watched_ = false;
};

}  // namespace berth::init
