#include "init/shutdown.hpp"

#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/mountinfo.hpp"
#include "supervisor/event_loop.hpp"
#include "supervisor/reaper.hpp"

namespace berth::init {

// Reaps until no child is left or the deadline passes. True when none is left.
static bool reap_until(SysOps& sys, std::int64_t deadline) {
    for (;;) {
        pid_t pid;
        int code, status, r;
        while ((r = sys.reap_one(pid, code, status)) == 1) {
        }
        if (r == -ECHILD) return true;
        if (sys.now_ms() >= deadline) return false;
        sys.sleep_ms(20);
    }
}

void kill_everything(SysOps& sys, int grace_ms) {
    int r = sys.kill(-1, SIGTERM);
    if (r == 0) {
        sys.kill(-1, SIGCONT);
        log::info("sent SIGTERM to all remaining processes");
        if (reap_until(sys, sys.now_ms() + grace_ms)) return;
    } else if (r == -ESRCH) {
        reap_until(sys, sys.now_ms());
        return;
    }
    if (sys.kill(-1, SIGKILL) == 0) log::info("sent SIGKILL to all remaining processes");
    if (!reap_until(sys, sys.now_ms() + grace_ms)) log::warn("some processes could not be reaped");
}

std::vector<std::string> parse_mount_points(const std::string& mountinfo) {
    std::vector<std::string> out;
    for (auto& e : mountinfo::parse(mountinfo)) out.push_back(std::move(e.mount_point));
    return out;
}

int unmount_all(SysOps& sys) {
    int remaining = 0;
    for (int pass = 0; pass < 8; ++pass) {
        auto points = parse_mount_points(sys.read_file("/proc/self/mountinfo").value_or(""));
        bool progress = false;
        remaining = 0;
        for (auto it = points.rbegin(); it != points.rend(); ++it) {
            const std::string& p = *it;
            if (p == "/" || p == "/proc" || p == "/dev" || p == "/sys") continue;  // needed to the end
            if (sys.umount(p, 0) == 0) {
                progress = true;
                continue;
            }
            ++remaining;
            sys.mount("", p, "", MS_REMOUNT | MS_RDONLY, "");
        }
        if (!progress) break;
    }
    sys.mount("", "/", "", MS_REMOUNT | MS_RDONLY, "");
    log::info("file systems unmounted ({} kept read-only)", remaining);
    return remaining;
}

void final_reboot(SysOps& sys, supervisor::PowerAction action) {
    sys.sync();
    int cmd = action == supervisor::PowerAction::reboot ? RB_AUTOBOOT
              : action == supervisor::PowerAction::halt ? RB_HALT_SYSTEM
                                                        : RB_POWER_OFF;
    log::info("{} now", supervisor::action_name(action));
    log::flush_console(1000);  // the last lines, bounded: a stuck console does not hold the reboot
    if (int r = sys.reboot(cmd); r < 0) log::error("reboot(2): {}", std::strerror(-r));
}

}  // namespace berth::init
