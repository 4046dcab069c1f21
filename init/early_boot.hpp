// PID 1's early boot, step by step, each step logged with its time.
#pragma once
#include <map>
#include <string>

#include "init/sys_ops.hpp"

namespace berth::init {

struct BootSummary {
    int modules_loaded = 0, modules_failed = 0;
    bool cgroup2 = false;
    std::map<std::string, std::string> cmdline;  // the kernel command line, parsed
};

// Everything from the initramfs hand-over to /etc/resolv.conf. Each failing
// step is logged and the boot goes on with what it has, with one exception: a
// verified root (berth.verity.*) that was refused throws berth::Error (EIO)
// once /proc, /sys and /dev are mounted, so that PID 1 takes its emergency path
// instead of booting on unverified.
BootSummary early_boot(SysOps& sys);

// Individual steps, exposed for tests and reuse.
void load_modules(SysOps& sys, const std::string& list_path, BootSummary& summary);
void apply_sysctl_dir(SysOps& sys, const std::string& dir);
void set_hostname(SysOps& sys, const std::map<std::string, std::string>& cmdline);

}  // namespace berth::init
