// The last steps of PID 1 once every container has stopped: kill what is
// left, unmount, sync, reboot(2). Every wait is bounded.
#pragma once
#include "init/sys_ops.hpp"
#include "supervisor/supervisor.hpp"

namespace berth::init {

// SIGTERM+SIGCONT to every other process, reaping for up to grace_ms, then
// SIGKILL and reaping for up to another grace_ms.
void kill_everything(SysOps& sys, int grace_ms);

// Unmounts in reverse mount order until a pass changes nothing; a busy file
// system is remounted read-only instead. Returns how many stayed mounted.
int unmount_all(SysOps& sys);

// sync, then reboot(2) with the action. Does not return when it works; when
// reboot(2) fails (not PID 1 of the machine), logs and returns.
void final_reboot(SysOps& sys, supervisor::PowerAction action);

// Parses /proc/self/mountinfo into mount points, in mount order.
std::vector<std::string> parse_mount_points(const std::string& mountinfo);

}  // namespace berth::init
