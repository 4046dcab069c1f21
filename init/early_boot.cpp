#include "init/early_boot.hpp"
#include "init/cgroup_setup.hpp"

#include <sys/mount.h>
#include <sys/reboot.h>

#include <cstring>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "init/boot_files.hpp"
#include "init/handover.hpp"
#include "init/mount_plan.hpp"

namespace berth::init {
namespace {

void log_steps(const std::vector<StepResult>& results, BootSummary* summary) {
    for (const auto& r : results) {
        const MountStep& s = *r.step;
        if (r.skipped) {
            log::info("{} already mounted on {}", s.type, s.target);
        } else if (r.err == 0) {
            log::info("mounted {} on {}", s.type, s.target);
        } else if (s.required) {
            log::error("mount {} on {}: {}", s.type, s.target, std::strerror(-r.err));
        } else {
            log::info("{} not available on {}: {}", s.type, s.target, std::strerror(-r.err));
        }
        if (summary && s.type == "cgroup2" && (r.err == 0)) summary->cgroup2 = true;
    }
}

// tmpfs over a directory, keeping what the image put there (LinuxKit loses
// `files:` under /var, #2503): mount the tmpfs aside, copy, move it in place.
void mount_tmpfs_keeping(SysOps& sys, const MountStep& s) {
    const std::string aside = "/run/.berth-aside";
    auto present = s.target != "/run" ? sys.list_dir(s.target) : std::nullopt;
    bool keep = present && !present->empty();
    if (!keep) {
        log_steps(run_mount_steps(sys, {s}), nullptr);
        return;
    }
    int err = sys.mkdir(aside, 0700);
    if (err == 0) err = sys.mount(s.source, aside, s.type, s.flags, s.data);
    if (err != 0) {
        log::error("mount tmpfs for {}: {}", s.target, std::strerror(-err));
        return;
    }
    CopyStats st = sys.copy_tree(s.target, aside, false, {});
    if (st.errors) log::warn("copying image content of {}: {}", s.target, st.first_error);
    err = sys.mount(aside, s.target, "", MS_MOVE, "");
    if (err != 0) log::error("move tmpfs onto {}: {}", s.target, std::strerror(-err));
    else log::info("mounted tmpfs on {} (kept {} image files)", s.target, st.files);
    sys.rmdir(aside);
}

}  // namespace

void load_modules(SysOps& sys, const std::string& list_path, BootSummary& summary) {
    auto text = sys.read_file(list_path);
    if (!text) {
        log::info("no kernel modules to load");
        return;
    }
    std::vector<ParseProblem> problems;
    auto mods = parse_module_list(*text, problems);
    for (const auto& p : problems) log::error("{}:{}: {}", list_path, p.line, p.reason);
    for (const auto& m : mods) {
        auto t0 = log::ms_since_start();
        int rc = sys.load_module(m.path, m.params);
        if (rc == 0 || rc == -EEXIST) {
            ++summary.modules_loaded;
            log::info("loaded module {} ({} ms)", m.path.substr(m.path.rfind('/') + 1),
                      log::ms_since_start() - t0);
        } else {
            ++summary.modules_failed;
            log::error("load module {}: {}", m.path, std::strerror(-rc));
        }
    }
}

void apply_sysctl_dir(SysOps& sys, const std::string& dir) {
    auto names = sys.list_dir(dir);
    if (!names) return;
    int applied = 0;
    for (const auto& n : *names) {
        if (n.size() < 5 || n.substr(n.size() - 5) != ".conf") continue;
        std::string path = fs::join(dir, n);
        auto text = sys.read_file(path);
        if (!text) continue;
        std::vector<ParseProblem> problems;
        for (const auto& e : parse_sysctl(*text, problems)) {
            int rc = sys.write_file(sysctl_path(e.key), e.value);
            if (rc == 0) ++applied;
            else if (!e.ignore_failure)
                log::error("{}:{}: sysctl {} = {}: {}", path, e.line, e.key, e.value, std::strerror(-rc));
        }
        for (const auto& p : problems) log::error("{}:{}: {}", path, p.line, p.reason);
    }
    log::info("applied {} sysctl settings", applied);
}

void set_hostname(SysOps& sys, const std::map<std::string, std::string>& cmdline) {
    std::string name;
    if (auto it = cmdline.find("berth.hostname"); it != cmdline.end()) name = it->second;
    else if (auto t = sys.read_file("/etc/hostname")) name = fs::trim(*t);
    if (name.empty()) name = "berth";
    if (!valid_hostname(name)) {
        log::error("invalid hostname `{}`, keeping the kernel's", name);
        return;
    }
    if (int rc = sys.sethostname(name); rc < 0)
        log::error("sethostname {}: {}", name, std::strerror(-rc));
    else
        log::info("hostname {}", name);
}

BootSummary early_boot(SysOps& sys) {
    BootSummary summary;
    auto handover = sys.getenv("BERTH_HANDOVER");  // the kernel passes unknown k=v as env
    bool on_initramfs = sys.getpid() == 1 && root_is_initramfs(sys);
    std::string verity_error;  // a verified root that was refused
    if (on_initramfs && wants_squashfs_root(sys)) {
        // kernel+squashfs: a failure leaves us on the small initramfs, which has no
        // containers; the boot goes on so that the console shows why.
        bool refused = false;
        std::string err = switch_to_squashfs_root(sys, &refused);
        if (refused) verity_error = "squashfs root: " + err;
        else if (!err.empty()) log::error("squashfs root: {}; staying on the initramfs", err);
    } else if (on_initramfs && handover.value_or("") != "0") {
        bool copy = handover.value_or("") == "copy";
        std::string err;
        if (!copy) {
            bool moved = false;
            err = bind_initramfs_root(sys, moved);
            if (!err.empty() && !moved) {
                log::warn("initramfs bind failed ({}); copying it to a tmpfs instead", err);
                copy = true;
            }
        }
        if (copy) err = hand_over_initramfs(sys);
        if (!err.empty()) log::error("initramfs hand-over failed, staying on it: {}", err);
    }
    auto filesystems = parse_filesystems(sys.read_file("/proc/filesystems").value_or(""));
    if (filesystems.empty()) {
        // /proc is not mounted yet: mount it first, then read the list.
        log_steps(run_mount_steps(sys, {{"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "", 0555, true}}), nullptr);
        filesystems = parse_filesystems(sys.read_file("/proc/filesystems").value_or(""));
    }
    log_steps(run_mount_steps(sys, kernel_mounts(filesystems)), &summary);
    summary.cmdline = parse_cmdline(sys.read_file("/proc/cmdline").value_or(""));
    sys.ensure_console();
    // Never boot on from the initramfs when the command line asked for a
    // verified root: the emergency path (reboot by default) takes over, with
    // /proc mounted so that it reads berth.emergency=.
    if (!verity_error.empty()) throw Error(verity_error, EIO);
    if (summary.cgroup2) enable_cgroup_controllers(sys, "/sys/fs/cgroup");

    // tmpfs first: moving a mount into place is refused once / is shared.
    for (const auto& s : tmpfs_mounts()) mount_tmpfs_keeping(sys, s);
    for (const auto& d : var_layout())
        if (int err = sys.mkdir(d.path, d.mode); err != 0)
            log::warn("mkdir {}: {}", d.path, std::strerror(-err));
    if (int err = sys.symlink("/run", "/var/run"); err != 0)
        log::warn("symlink /var/run: {}", std::strerror(-err));
    // Shared propagation so that containers' rshared binds see later mounts.
    if (int err = sys.mount("", "/", "", MS_REC | MS_SHARED, ""); err != 0)
        log::warn("make / rshared: {}", std::strerror(-err));
    if (int err = sys.mount("", "/", "", MS_REMOUNT | MS_BIND | MS_RDONLY, ""); err != 0)
        log::error("remount / read-only: {}", std::strerror(-err));
    else
        log::info("root file system is read-only");

    load_modules(sys, "/etc/berth/modules", summary);
    set_hostname(sys, summary.cmdline);
    if (std::string err = sys.link_up("lo"); !err.empty()) log::error("lo: {}", err);
    else log::info("lo is up");
    apply_sysctl_dir(sys, "/etc/sysctl.d");

    // Ctrl-Alt-Del becomes SIGINT to PID 1 instead of an immediate reboot.
    if (int rc = sys.reboot(RB_DISABLE_CAD); rc < 0)
        log::warn("disable Ctrl-Alt-Del: {}", std::strerror(-rc));
    // /etc/resolv.conf in the read-only image points here; DHCP writes it.
    if (int rc = sys.create_file("/run/resolv.conf", 0644); rc < 0)
        log::warn("create /run/resolv.conf: {}", std::strerror(-rc));
    // Services inherit a generous descriptor limit; their configs lower it.
    if (int rc = sys.set_nofile_limit(1048576); rc < 0)
        log::warn("raise RLIMIT_NOFILE: {}", std::strerror(-rc));
    return summary;
}

}  // namespace berth::init
