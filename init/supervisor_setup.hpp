// What PID 1 prepares for the supervisor once early boot is done: its runtime
// directories, the `berth` CLI link, its cgroup subtree, the console as a
// non-blocking log sink and the subreaper flag. Every call goes through the
// SysOps seam and every failure is logged with its path and errno; none of
// them stops the boot (the feature that needs it is lost, loudly).
#pragma once
#include <string>

#include "init/sys_ops.hpp"

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

// fd 1 non-blocking (a slow serial console costs lines, never stalls PID 1) and
// PID 1 a child subreaper (containers outlive their launch processes and come
// back to it, also when berth-init runs under another init).
void prepare_process(SysOps& sys);

}  // namespace berth::init
