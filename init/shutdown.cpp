#include "init/shutdown.hpp"

#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <sstream>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "supervisor/event_loop.hpp"
#include "supervisor/reaper.hpp"

namespace berth::init {

// Reaps until no child is left or the deadline passes. True when none is left.
static bool reap_until(supervisor::Millis deadline) {
    for (;;) {
        supervisor::reap_children([](pid_t, int, int) {});
        siginfo_t si{};
        if (::waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD) return true;
        if (supervisor::monotonic_ms() >= deadline) return false;
        timespec ts{0, 20 * 1000000};
        ::nanosleep(&ts, nullptr);
    }
}

void kill_everything(int grace_ms) {
    if (::kill(-1, SIGTERM) == 0) {
        ::kill(-1, SIGCONT);
        log::info("sent SIGTERM to all remaining processes");
        if (reap_until(supervisor::monotonic_ms() + grace_ms)) return;
    } else if (errno == ESRCH) {
        reap_until(supervisor::monotonic_ms());
        return;
    }
    if (::kill(-1, SIGKILL) == 0) log::info("sent SIGKILL to all remaining processes");
    if (!reap_until(supervisor::monotonic_ms() + grace_ms)) log::warn("some processes could not be reaped");
}

std::vector<std::string> parse_mount_points(const std::string& mountinfo) {
    std::vector<std::string> out;
    std::istringstream in(mountinfo);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string id, parent, devno, root, point;
        if (!(f >> id >> parent >> devno >> root >> point)) continue;
        // Octal escapes (\040 for a space) as the kernel writes them.
        std::string decoded;
        for (size_t i = 0; i < point.size(); ++i) {
            if (point[i] == '\\' && i + 3 < point.size()) {
                decoded += char(std::stoi(point.substr(i + 1, 3), nullptr, 8));
                i += 3;
            } else {
                decoded += point[i];
            }
        }
        out.push_back(decoded);
    }
    return out;
}

int unmount_all(SysOps& sys) {
    int remaining = 0;
    for (int pass = 0; pass < 8; ++pass) {
        auto points = parse_mount_points(fs::try_read_file("/proc/self/mountinfo").value_or(""));
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

void final_reboot(supervisor::PowerAction action) {
    ::sync();
    int cmd = action == supervisor::PowerAction::reboot ? RB_AUTOBOOT
              : action == supervisor::PowerAction::halt ? RB_HALT_SYSTEM
                                                        : RB_POWER_OFF;
    log::info("{} now", supervisor::action_name(action));
    if (::reboot(cmd) < 0) log::error("reboot(2): {}", std::strerror(errno));
}

}  // namespace berth::init
