// What PID 1 does when its own setup fails (an exception before or around the
// supervisor's loop): it must neither exit (the kernel would panic) nor freeze.
// It logs the error, then, by the image's choice (image.json's "emergency",
// from the YAML's `emergency: {action, delay}`), which `berth.emergency=` on
// the kernel command line overrides:
//   reboot (default), poweroff, halt: after the delay (10 s by default), while
//     reaping every child and obeying the poweroff/reboot/halt signals at once;
//   shell: /bin/sh on the console, when the image has one (else reboot); the
//     machine reboots when the shell exits, and the signals still work.
#pragma once
#include <map>
#include <optional>
#include <string>

#include "config/image_config.hpp"

#include "init/sys_ops.hpp"
#include "supervisor/supervisor.hpp"

namespace berth::init {

inline constexpr int kEmergencyDelayMs = int(config::kEmergencyDefaultDelayMs);
inline constexpr const char* kRescueShell = "/bin/sh";

using EmergencyChoice = config::EmergencyAction;

// From `berth.emergency=`; an unknown value is logged and means reboot.
EmergencyChoice emergency_choice(const std::map<std::string, std::string>& cmdline);

// The image's settings (image.json's "emergency" object, or the defaults when
// it has none or it cannot be read), with the action replaced by
// `berth.emergency=` when the command line has a valid one. Only the
// "emergency" object is read: a broken watchdog setting does not cost the
// image its emergency choice.
config::EmergencyConfig emergency_settings(const std::map<std::string, std::string>& cmdline,
                                           const std::optional<std::string>& image_json);

// The power action a signal asks PID 1 for (SIGUSR2/SIGPWR poweroff,
// SIGUSR1 halt, SIGTERM/SIGINT reboot), or none.
supervisor::PowerAction action_for_signal(int sig);

// Waits out the emergency, reaping all along; returns the action to take:
// the one a signal asked for, else the choice once the delay passed (or the
// rescue shell exited). Testable: everything goes through `sys`.
supervisor::PowerAction emergency_wait(SysOps& sys, EmergencyChoice choice, int delay_ms);

// The path up to reboot(2): log, read the settings (/proc/cmdline and
// image.json through `sys`), wait, stop what is left, unmount, reboot(2).
// Returns only when reboot(2) failed, with the action it asked for.
supervisor::PowerAction emergency_until_reboot(SysOps& sys, const std::string& error);

// The whole path. When reboot(2) fails (not allowed here), keeps reaping and
// waiting for signals.
[[noreturn]] void emergency(SysOps& sys, const std::string& error);

}  // namespace berth::init
