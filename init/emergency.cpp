#include "init/emergency.hpp"

#include <signal.h>

#include "common/log.hpp"
#include "config/json_document.hpp"
#include "init/boot_files.hpp"
#include "init/shutdown.hpp"

namespace berth::init {

using supervisor::PowerAction;

namespace {

// berth.emergency= when present and valid.
std::optional<EmergencyChoice> cmdline_choice(const std::map<std::string, std::string>& cmdline) {
    auto it = cmdline.find("berth.emergency");
    if (it == cmdline.end()) return std::nullopt;
    auto a = config::emergency_action_from_name(it->second);
    if (!a) log::warn("berth.emergency={}: not one of shell, reboot, poweroff, halt; ignored", it->second);
    return a;
}

}  // namespace

EmergencyChoice emergency_choice(const std::map<std::string, std::string>& cmdline) {
    return cmdline_choice(cmdline).value_or(EmergencyChoice::reboot);
}

config::EmergencyConfig emergency_settings(const std::map<std::string, std::string>& cmdline,
                                           const std::optional<std::string>& image_json) {
    config::EmergencyConfig settings;
    if (image_json) {
        std::string why;
        auto doc = config::parse_bounded_json(*image_json, why).value_or(nullptr);
        if (doc.is_object() && doc.contains("emergency")) {
            try {
                settings = *config::parse_image_config({{"emergency", doc["emergency"]}}, config::kImageConfigPath)
                                .emergency;
            } catch (const std::exception& e) {
                log::error("{}; using the default emergency settings", e.what());
            }
        }
    }
    if (auto a = cmdline_choice(cmdline)) settings.action = *a;
    return settings;
}

PowerAction action_for_signal(int sig) {
    switch (sig) {
        case SIGUSR2:
        case SIGPWR: return PowerAction::poweroff;
        case SIGUSR1: return PowerAction::halt;
        case SIGTERM:
        case SIGINT: return PowerAction::reboot;  // SIGINT is Ctrl-Alt-Del
        default: return PowerAction::none;
    }
}

PowerAction emergency_wait(SysOps& sys, EmergencyChoice choice, int delay_ms) {
    PowerAction fallback = choice == EmergencyChoice::poweroff ? PowerAction::poweroff
                           : choice == EmergencyChoice::halt   ? PowerAction::halt
                                                               : PowerAction::reboot;
    pid_t shell = -1;
    if (choice == EmergencyChoice::shell) {
        log::flush_console(1000);  // PID 1's lines before the shell's prompt
        if (!sys.exists(kRescueShell)) {
            log::error("emergency: no {} in the image for a rescue shell", kRescueShell);
        } else if (int r = sys.spawn_on_console(kRescueShell); r < 0) {
            log::error("emergency: cannot start {}: errno {}", kRescueShell, -r);
        } else {
            shell = r;
            log::error("emergency: rescue shell on the console (pid {}); the machine reboots when it exits", shell);
        }
    }
    if (shell < 0)
        log::error("emergency: {} in {} (poweroff, reboot and halt signals work meanwhile)",
                   supervisor::action_name(fallback), config::format_duration(delay_ms));
    std::int64_t deadline = sys.now_ms() + delay_ms;
    for (;;) {
        std::int64_t left = deadline - sys.now_ms();
        if (shell < 0 && left <= 0) return fallback;
        int sig = sys.wait_signal(shell < 0 ? int(left) : 1000);
        pid_t pid;
        int code, status;
        while (sys.reap_one(pid, code, status) == 1)
            if (pid == shell) {
                log::info("emergency: the rescue shell exited");
                return fallback;
            }
        PowerAction a = action_for_signal(sig);
        if (a != PowerAction::none) {
            log::info("emergency: signal {}: {}", sig, supervisor::action_name(a));
            return a;
        }
    }
}

PowerAction emergency_until_reboot(SysOps& sys, const std::string& error) {
    log::error("PID 1 cannot go on: {}", error);
    log::flush_console(1000);  // no loop writes the console's queue out from here on
    auto cmdline = parse_cmdline(sys.read_file("/proc/cmdline").value_or(""));
    config::EmergencyConfig settings = emergency_settings(cmdline, sys.read_file(config::kImageConfigPath));
    PowerAction a = emergency_wait(sys, settings.action, int(settings.delay_ms));
    kill_everything(sys, 2000);
    unmount_all(sys);
    final_reboot(sys, a);
    return a;
}

void emergency(SysOps& sys, const std::string& error) {
    emergency_until_reboot(sys, error);
    // reboot(2) refused: PID 1 must still never exit, nor leave zombies.
    for (;;) {
        int sig = sys.wait_signal(60000);
        pid_t pid;
        int code, status;
        while (sys.reap_one(pid, code, status) == 1) {
        }
        PowerAction again = action_for_signal(sig);
        if (again != PowerAction::none) final_reboot(sys, again);
    }
}

}  // namespace berth::init
