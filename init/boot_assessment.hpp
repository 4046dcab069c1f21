// Automatic boot assessment of an A/B slot on trial (docs/updates.md).
//
// `berth update apply` installs a slot with a boot entry that carries
// systemd-boot's counter (berth-GEN-X+1.conf); the loader counts the try down
// by renaming it (+0-1) before it boots it. This boot is then on trial, and PID 1
// decides it:
//   - a child process mounts the ESP and says whether this slot's entry counts
//     tries (on trial) or not (committed: nothing to do);
//   - on trial, PID 1 checks every 250 ms whether each service of
//     update.commitWhenReady is ready (the supervisor's own readiness: started,
//     sd_notify READY=1 or the notify fd);
//   - all ready before update.deadline (from PID 1's start): a child renames the
//     entry to drop the counter (committed, "blessed");
//   - else PID 1 logs which services were not ready and why, and reboots; the
//     entry has no tries left, so the loader boots the other slot's entry.
// PID 1 never waits on the disk: the ESP work runs in child processes, and a
// hung boot is the hardware watchdog's (init/hw_watchdog.hpp).
#pragma once
#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "config/image_config.hpp"
#include "init/sys_ops.hpp"
#include "supervisor/event_loop.hpp"
#include "supervisor/supervisor.hpp"

namespace berth::init {

inline constexpr const char* kEspMountDir = "/run/berth/esp";

// Exit codes of the probe child.
inline constexpr int kProbeOnTrial = 10;
inline constexpr int kProbeCommitted = 11;

// "" when every named service is ready, else one clause per service that is
// not: "redis: starting (waiting for readiness)".
std::string not_ready_services(supervisor::Supervisor& sup, const std::vector<std::string>& names);

class BootAssessment {
public:
    // Runs `work` in a child process: its pid, or -errno.
    using Spawn = std::function<pid_t(std::function<int()> work)>;

    BootAssessment(supervisor::EventLoop& loop, supervisor::Supervisor& sup, SysOps& sys, char slot,
                   config::UpdateConfig cfg, supervisor::Millis boot_started_ms, std::function<void()> reboot,
                   Spawn spawn = {});
    void start();
    // From the reaper: true when `pid` was one of ours (handled here).
    bool child_exited(pid_t pid, int code, int status);

    enum class Phase { probing, on_trial, blessing, committed, failed, idle };
    Phase phase() const { return phase_; }

private:
    void check();
    supervisor::EventLoop& loop_;
    supervisor::Supervisor& sup_;
    SysOps& sys_;
    char slot_;
    config::UpdateConfig cfg_;
    supervisor::Millis deadline_;
    std::function<void()> reboot_;
    Spawn spawn_;
    Phase phase_ = Phase::idle;
    pid_t child_ = -1;
};

// The assessment for this boot, or nullptr when it is not an A/B slot boot
// (no berth.slot) or the image has no update settings.
std::unique_ptr<BootAssessment> make_boot_assessment(supervisor::EventLoop& loop, supervisor::Supervisor& sup,
                                                     SysOps& sys, const std::map<std::string, std::string>& cmdline,
                                                     supervisor::Millis boot_started_ms,
                                                     std::function<void()> reboot);

// The real Spawn: fork(2); the child unblocks signals, runs `work` and _exits with its result.
pid_t fork_and_run(std::function<int()> work);

}  // namespace berth::init
