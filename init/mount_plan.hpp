// The file systems PID 1 mounts at boot, as data: a pure function of what the
// kernel offers (/proc/filesystems), so the plan is unit-tested and the
// executor stays small.
#pragma once
#include <set>
#include <string>
#include <vector>

#include "init/sys_ops.hpp"

namespace berth::init {

struct MountStep {
    std::string source, target, type;
    unsigned long flags = 0;
    std::string data;
    mode_t dir_mode = 0755;
    bool required = true;   // a missing optional file system is logged, not fatal
};

// Parses /proc/filesystems ("nodev\tproc\n\text4\n") into the set of names.
std::set<std::string> parse_filesystems(const std::string& text);

// /proc, /sys, /dev and friends, cgroup2, securityfs, bpffs, debugfs.
std::vector<MountStep> kernel_mounts(const std::set<std::string>& filesystems);

// tmpfs on /run, /tmp, /var (LinuxKit's sizes).
std::vector<MountStep> tmpfs_mounts();

// The /var subdirectories every image has, and their modes.
struct DirStep { std::string path; mode_t mode; };
std::vector<DirStep> var_layout();

// Outcome of one step, for the log.
struct StepResult { const MountStep* step; int err; bool skipped; };

// Executes the steps: creates each mount point, skips a target that already
// holds a file system of that type (a second run, or a test harness that set it
// up), returns one result per step. Never throws.
std::vector<StepResult> run_mount_steps(SysOps& sys, const std::vector<MountStep>& steps);

}  // namespace berth::init
