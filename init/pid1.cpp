#include "init/pid1.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "init/device_grant.hpp"
#include "init/devices.hpp"
#include "init/container_launcher.hpp"
#include "init/boot_assessment.hpp"
#include "init/ab_slots.hpp"
#include "init/boot_log.hpp"
#include "init/early_boot.hpp"
#include "init/emergency.hpp"
#include "init/hw_watchdog.hpp"
#include "init/resident_trim.hpp"
#include "ctl/ctl.hpp"
#include "init/shutdown.hpp"
#include "init/supervisor_setup.hpp"
#include "supervisor/control_server.hpp"
#include "supervisor/reaper.hpp"
#include "supervisor/supervisor.hpp"

namespace berth::init {
namespace {

using supervisor::PowerAction;

// Every signal but the synchronous faults goes through the signalfd.
sigset_t handled_signals() {
    sigset_t set;
    sigfillset(&set);
    for (int s : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS}) sigdelset(&set, s);
    return set;
}


constexpr const char* kImageJson = "/etc/berth/image.json";

// The hardware watchdog when the image asks for one; a missing device or a bad
// setting is loud and leaves the machine without it, never stops the boot.
std::unique_ptr<HardwareWatchdog> arm_watchdog(SysOps& sys) {
    auto text = sys.read_file(kImageJson);
    if (!text) return nullptr;
    try {
        auto config = parse_watchdog_config(*text, kImageJson);
        if (!config) return nullptr;
        auto w = std::make_unique<HardwareWatchdog>(*config);
        log::info("watchdog: {} armed, timeout {} s, petted every {} ms", config->device, w->timeout_s(),
                  w->interval_ms());
        return w;
    } catch (const std::exception& e) {
        log::error("{}; no hardware watchdog this boot", e.what());
        return nullptr;
    }
}

// Petting rides on the event loop: if the loop stops turning, the machine resets.
void pet_periodically(supervisor::EventLoop& loop, HardwareWatchdog& w) {
    loop.add_timer(w.interval_ms(), [&loop, &w] {
        w.pet();
        pet_periodically(loop, w);
    });
}

// Test-only: `berth.test-hang=SECONDS` on the kernel command line of an image
// that has a hardware watchdog hangs PID 1's loop for good after that many
// seconds, to show that the watchdog resets the machine. Without a watchdog
// the flag is refused, so it can never freeze an ordinary image.
void arm_test_hang(supervisor::EventLoop& loop, const std::map<std::string, std::string>& cmdline, bool watchdog) {
    auto it = cmdline.find("berth.test-hang");
    if (it == cmdline.end()) return;
    if (!watchdog) {
        log::warn("berth.test-hang ignored: the image has no hardware watchdog");
        return;
    }
    long secs = std::strtol(it->second.c_str(), nullptr, 10);
    if (secs < 0 || secs > 3600) secs = 0;
    log::warn("watchdog test: PID 1 will hang in {} s (berth.test-hang)", secs);
    loop.add_timer(secs * 1000, [] {
        log::warn("watchdog test: PID 1 hangs now; the watchdog must reset the machine");
        for (;;) ::pause();  // every signal is blocked: this never returns
    });
}

}  // namespace

void pid1_main() {
    log::init_clock();
    log::set_program("berth");
    sigset_t signals = handled_signals();
    ::sigprocmask(SIG_BLOCK, &signals, nullptr);
    ::umask(022);
    ::setsid();
    keep_boot_log();  // from the first line; dropped below unless this is an A/B boot
    log::info("berth {} starting as PID 1", BERTH_VERSION);

    RealSysOps sys;
    try {
        BootSummary boot = early_boot(sys);
        // Test-only: `BERTH_TEST_SETUP_FAILURE=1` on the kernel command line (it
        // reaches /init as an environment variable) fails PID 1's own setup
        // here, to show the emergency path.
        if (const char* f = ::getenv("BERTH_TEST_SETUP_FAILURE"); f && std::strcmp(f, "1") == 0)
            throw Error("setup failure requested by BERTH_TEST_SETUP_FAILURE", ECANCELED);

        supervisor::Settings settings;
        settings.cgroup_root = prepare_cgroups(sys, boot.cgroup2);
        settings.boot_started_ms = supervisor::monotonic_ms() - supervisor::Millis(log::ms_since_start());
        prepare_process(sys);
        settings.console = &pid1_console();
        // BERTH_PREPARE_AHEAD=0 on the kernel command line: the boot benchmark's serial variant.
        if (const char* p = ::getenv("BERTH_PREPARE_AHEAD"); p && std::strcmp(p, "0") == 0) settings.prepare_ahead = false;
        settings.log_dir = "/var/log";
        settings.notify_dir = "/run/berth/notify";
        settings.on_boot_complete = [] {
            log::info("returned {} kB of free heap to the kernel", release_boot_memory());
        };
        prepare_runtime_dirs(sys);
        supervisor::Supervisor* sup_ptr = nullptr;
        std::unique_ptr<BootAssessment> assessment;
        std::unique_ptr<BootLogWriter> boot_log;
        supervisor::EventLoop loop(signals, [&](const signalfd_siginfo& si) {
            int sig = int(si.ssi_signo);
            if (sig == SIGCHLD) {
                supervisor::reap_children([&](pid_t pid, int code, int status) {
                    if (assessment && assessment->child_exited(pid, code, status)) return;
                    if (boot_log && boot_log->child_exited(pid, code, status)) return;
                    if (sup_ptr) sup_ptr->child_exited(pid, code, status);
                });
                return;
            }
            PowerAction a = action_for_signal(sig);
            const char* abbrev = sigabbrev_np(sig);
            if (a == PowerAction::none) {
                log::info("ignoring signal SIG{} from pid {}", abbrev ? abbrev : "?", si.ssi_pid);
                return;
            }
            log::info("SIG{} from pid {}: {}", abbrev ? abbrev : "?", si.ssi_pid, supervisor::action_name(a));
            if (sup_ptr) sup_ptr->request_shutdown(a);
        });
        ConsoleWatch console_watch(loop, *settings.console);
        RuntimeLauncher launcher(loop, {"/run/berth/seccomp", "/run/berth/prepared"});
        // coldplug, /dev/disk links, then hotplug from the loop (and containers' devices)
        Devices devices(sys, loop, spawn_device_grant);
        launcher.set_container_devices(&devices.containers());
        supervisor::Supervisor sup(loop, launcher, settings);
        sup_ptr = &sup;
        std::unique_ptr<supervisor::ControlServer> control;
        try {
            control = std::make_unique<supervisor::ControlServer>(loop, sup, ctl::kControlSocket,
                                                                 [&](PowerAction a) { sup.request_shutdown(a); });
        } catch (const std::exception& e) {
            log::error("control socket: {}; no `berth` commands this boot", e.what());
        }
        std::unique_ptr<HardwareWatchdog> watchdog = arm_watchdog(sys);
        if (watchdog) pet_periodically(loop, *watchdog);
        arm_test_hang(loop, boot.cmdline, bool(watchdog));
        sup.boot();
        // An A/B slot on trial is committed only when the listed services are ready.
        assessment = make_boot_assessment(loop, sup, sys, boot.cmdline, settings.boot_started_ms,
                                          [&] { sup.request_shutdown(PowerAction::reboot); });
        if (assessment) assessment->start();
        // An A/B boot keeps its log on the disk, for `berth logs --previous-boot`.
        if (booted_slot(boot.cmdline)) {
            boot_log = std::make_unique<BootLogWriter>(loop, sys, current_boot_id(sys));
            boot_log->start();
        } else {
            log::set_tee(nullptr);
            boot_log_ring() = BootLogRing();
        }
        while (!sup.shutdown_complete()) loop.run_once(-1);

        // The last steps are bounded but outside the loop: pet between them,
        // disarm only when nothing but reboot(2) is left.
        if (watchdog) watchdog->pet();
        if (boot_log) boot_log->final_write(2000);
        if (watchdog) watchdog->pet();
        kill_everything(sys, 3000);
        if (watchdog) watchdog->pet();
        unmount_all(sys);
        if (watchdog) watchdog->disarm();
        final_reboot(sys, sup.action());
        emergency(sys, "reboot(2) failed");
    } catch (const std::exception& e) {
        emergency(sys, e.what());
    } catch (...) {
        emergency(sys, "unknown error");
    }
}

}  // namespace berth::init
