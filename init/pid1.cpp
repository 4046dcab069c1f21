#include "init/pid1.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fcntl.h>

#include <cstring>
#include <memory>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "init/container_launcher.hpp"
#include "init/early_boot.hpp"
#include "init/ctl.hpp"
#include "init/shutdown.hpp"
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

PowerAction action_for(int sig) {
    switch (sig) {
        case SIGUSR2:
        case SIGPWR: return PowerAction::poweroff;
        case SIGUSR1: return PowerAction::halt;
        case SIGTERM:
        case SIGINT: return PowerAction::reboot;  // SIGINT is Ctrl-Alt-Del
        default: return PowerAction::none;
    }
}

std::string prepare_cgroups(bool have_cgroup2) {
    if (!have_cgroup2) return {};
    const std::string root = "/sys/fs/cgroup/berth";
    try {
        for (const char* sub : {"", "/onboot", "/services", "/onshutdown"}) {
            fs::mkdir_p(root + sub);
            enable_cgroup_controllers(root + sub);
        }
    } catch (const std::exception& e) {
        log::error("cgroups: {}; containers run without their own cgroup", e.what());
        return {};
    }
    return root;
}

[[noreturn]] void idle_forever() {
    // PID 1 must never exit: the kernel would panic.
    for (;;) {
        supervisor::reap_children([](pid_t, int, int) {});
        ::pause();
    }
}

}  // namespace

void pid1_main() {
    log::init_clock();
    log::set_program("berth");
    sigset_t signals = handled_signals();
    ::sigprocmask(SIG_BLOCK, &signals, nullptr);
    ::umask(022);
    ::setsid();
    log::info("berth {} starting as PID 1", BERTH_VERSION);

    try {
        RealSysOps sys;
        BootSummary boot = early_boot(sys);

        supervisor::Settings settings;
        settings.cgroup_root = prepare_cgroups(boot.cgroup2);
        settings.boot_started_ms = supervisor::monotonic_ms() - supervisor::Millis(log::ms_since_start());
        // A slow serial console must cost lines, never stall PID 1.
        ::fcntl(1, F_SETFL, ::fcntl(1, F_GETFL) | O_NONBLOCK);
        settings.console_fd = 1;
        settings.log_dir = "/var/log";
        settings.notify_dir = "/run/berth/notify";
        fs::mkdir_p("/run/berth/notify", 0755);
        // The CLI is this binary: `berth` on a PATH that includes /run/berth/bin.
        fs::mkdir_p("/run/berth/bin", 0755);
        ::symlink("/init", "/run/berth/bin/berth");

        RuntimeLauncher launcher;
        supervisor::Supervisor* sup_ptr = nullptr;
        supervisor::EventLoop loop(signals, [&](const signalfd_siginfo& si) {
            int sig = int(si.ssi_signo);
            if (sig == SIGCHLD) {
                supervisor::reap_children([&](pid_t pid, int code, int status) {
                    if (sup_ptr) sup_ptr->child_exited(pid, code, status);
                });
                return;
            }
            PowerAction a = action_for(sig);
            const char* abbrev = sigabbrev_np(sig);
            if (a == PowerAction::none) {
                log::info("ignoring signal SIG{} from pid {}", abbrev ? abbrev : "?", si.ssi_pid);
                return;
            }
            log::info("SIG{} from pid {}: {}", abbrev ? abbrev : "?", si.ssi_pid, supervisor::action_name(a));
            if (sup_ptr) sup_ptr->request_shutdown(a);
        });
        supervisor::Supervisor sup(loop, launcher, settings);
        sup_ptr = &sup;
        std::unique_ptr<supervisor::ControlServer> control;
        try {
            control = std::make_unique<supervisor::ControlServer>(loop, sup, kControlSocket,
                                                                 [&](PowerAction a) { sup.request_shutdown(a); });
        } catch (const std::exception& e) {
            log::error("control socket: {}; no `berth` commands this boot", e.what());
        }
        sup.boot();
        while (!sup.shutdown_complete()) loop.run_once(-1);

        kill_everything(3000);
        unmount_all(sys);
        final_reboot(sup.action());
    } catch (const std::exception& e) {
        log::error("PID 1: {}", e.what());
    } catch (...) {
        log::error("PID 1: unknown error");
    }
    idle_forever();
}

}  // namespace berth::init
