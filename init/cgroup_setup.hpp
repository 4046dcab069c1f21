// The cgroup v2 controllers PID 1 delegates to its containers.
#pragma once
#include <string>

#include "init/sys_ops.hpp"

namespace berth::init {

// Enables every controller listed in <dir>/cgroup.controllers for the children
// of `dir`, one at a time so that one the kernel refuses does not block the
// rest. Returns the enabled ones, space-separated (logged too).
std::string enable_cgroup_controllers(SysOps& sys, const std::string& dir);

}  // namespace berth::init
