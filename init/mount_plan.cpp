#include "init/mount_plan.hpp"

#include <linux/magic.h>
#include <sys/mount.h>

#include "common/text.hpp"

namespace berth::init {

std::set<std::string> parse_filesystems(const std::string& text) {
    std::set<std::string> out;
    text::for_each_line(text, [&](std::string_view line) {
        auto tab = line.rfind('\t');
        std::string_view name = tab == std::string_view::npos ? line : line.substr(tab + 1);
        while (!name.empty() && (name.back() == ' ' || name.back() == '\r')) name.remove_suffix(1);
        while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
        if (!name.empty()) out.emplace(name);
    });
    return out;
}

std::vector<MountStep> kernel_mounts(const std::set<std::string>& fs) {
    const unsigned long nse = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    std::vector<MountStep> steps = {
        {"proc", "/proc", "proc", nse, "", 0555, true},
        {"sysfs", "/sys", "sysfs", nse, "", 0555, true},
        {"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", 0755, true},
        {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666", 0755,
         true},
        {"shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 01777, true},
        {"mqueue", "/dev/mqueue", "mqueue", nse, "", 0755, false},
    };
    auto optional = [&](const char* type, const char* target, unsigned long flags, const char* data) {
        if (fs.count(type)) steps.push_back({type, target, type, flags, data, 0755, false});
    };
    // cgroup2 is required when the kernel has it; nsdelegate lets containers own a subtree.
    if (fs.count("cgroup2")) steps.push_back({"cgroup2", "/sys/fs/cgroup", "cgroup2", nse, "nsdelegate", 0555, true});
    optional("securityfs", "/sys/kernel/security", nse, "");
    optional("bpf", "/sys/fs/bpf", MS_NOSUID | MS_NODEV, "mode=0700");
    optional("debugfs", "/sys/kernel/debug", nse, "");
    return steps;
}

std::vector<MountStep> tmpfs_mounts() {
    return {
        {"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=10%", 0755, true},
        {"tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=10%", 01777, true},
        {"tmpfs", "/var", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=50%", 0755, true},
    };
}

std::vector<DirStep> var_layout() {
    return {{"/var/cache", 0755}, {"/var/empty", 0555}, {"/var/lib", 0755}, {"/var/local", 0755},
            {"/var/lock", 0755},  {"/var/log", 0755},   {"/var/opt", 0755}, {"/var/spool", 0755},
            {"/var/tmp", 01777}};
}

static long magic_of(const std::string& type) {
    if (type == "proc") return PROC_SUPER_MAGIC;
    if (type == "sysfs") return SYSFS_MAGIC;
    if (type == "devpts") return DEVPTS_SUPER_MAGIC;
    if (type == "cgroup2") return CGROUP2_SUPER_MAGIC;
    if (type == "securityfs") return SECURITYFS_MAGIC;
    if (type == "bpf") return BPF_FS_MAGIC;
    if (type == "debugfs") return DEBUGFS_MAGIC;
    if (type == "mqueue") return 0x19800202;  // MQUEUE_MAGIC, not in linux/magic.h
    return 0;  // tmpfs/devtmpfs share TMPFS_MAGIC with the root: never treat as mounted
}

std::vector<StepResult> run_mount_steps(SysOps& sys, const std::vector<MountStep>& steps) {
    std::vector<StepResult> results;
    results.reserve(steps.size());
    for (const auto& s : steps) {
        long magic = magic_of(s.type);
        if (magic != 0 && sys.fs_type(s.target) == magic) {
            results.push_back({&s, 0, true});
            continue;
        }
        int err = sys.mkdir(s.target, s.dir_mode);
        if (err == 0 || err == -EROFS) err = sys.mount(s.source, s.target, s.type, s.flags, s.data);
        results.push_back({&s, err, false});
    }
    return results;
}

}  // namespace berth::init
