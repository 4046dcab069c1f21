// What PID 1 does when its own setup fails (an exception before or around the
// supervisor's loop): it must neither exit (the kernel would panic) nor freeze.
// It logs the error, then, by `berth.emergency=` on the kernel command line:
//   reboot (default), poweroff, halt: after kEmergencyDelayMs, while reaping
//     every child and obeying the poweroff/reboot/halt signals at once;
//   shell: /bin/sh on the console, when the image has one (else reboot); the
//     machine reboots when the shell exits, and the signals still work.
#pragma once
#include <map>
#include <string>

#include "init/sys_ops.hpp"
#include "supervisor/supervisor.hpp"

namespace berth::init {

inline constexpr int kEmergencyDelayMs = 10000;
inline constexpr const char* kRescueShell = "/bin/sh";

enum class EmergencyChoice { reboot, poweroff, halt, shell };

// From `berth.emergency=`; an unknown value is logged and means reboot.
EmergencyChoice emergency_choice(const std::map<std::string, std::string>& cmdline);

// The power action a signal asks PID 1 for (SIGUSR2/SIGPWR poweroff,
// SIGUSR1 halt, SIGTERM/SIGINT reboot), or none.
supervisor::PowerAction action_for_signal(int sig);

// Waits out the emergency, reaping all along; returns the action to take:
// the one a signal asked for, else the choice once the delay passed (or the
// rescue shell exited). Testable: everything goes through `sys`.
supervisor::PowerAction emergency_wait(SysOps& sys, EmergencyChoice choice, int delay_ms);

// The whole path: log, wait, stop what is left, unmount, reboot(2). When
// reboot(2) fails (not allowed here), keeps reaping and waiting for signals.
[[noreturn]] void emergency(SysOps& sys, const std::string& error);

}  // namespace berth::init
