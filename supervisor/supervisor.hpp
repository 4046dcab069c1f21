// The container table and its life cycle in PID 1: onboot containers one by one
// to completion, then every service, then (on request) the orderly stop.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "supervisor/container.hpp"
#include "supervisor/event_loop.hpp"

namespace berth::supervisor {

enum class PowerAction { none, poweroff, reboot, halt };
const char* action_name(PowerAction a);

struct Settings {
    std::string containers_root = "/containers";
    std::string cgroup_root;            // "/sys/fs/cgroup/berth", or "" without cgroup2
    Millis stop_grace_ms = 10000;       // SIGTERM to SIGKILL for services
    Millis kill_wait_ms = 2000;         // after SIGKILL, before giving up on a process
    Millis boot_started_ms = 0;         // monotonic time /init started, for the summary
};

// Starts one container; returns its pid and pidfd or throws berth::Error.
// Injected so that tests can replace the runtime.
struct Launcher {
    virtual ~Launcher() = default;
    virtual void start(Container& c) = 0;  // fills pid and pidfd
};

class Supervisor {
public:
    Supervisor(EventLoop& loop, Launcher& launcher, Settings settings);

    void boot();                                    // onboot sequence, then services
    void child_exited(pid_t pid, int code, int status);  // from the reaper (siginfo code/status)
    void request_shutdown(PowerAction action);      // idempotent; the first request wins
    bool shutdown_complete() const { return phase_ == Phase::done; }
    PowerAction action() const { return action_; }
    const std::vector<Container>& containers() const { return table_; }

private:
    enum class Phase { init, onboot, services, onshutdown, stopping, done };

    void start_next_sequenced();     // onboot or onshutdown: the next pending one
    void start_services();
    void launch(Container& c);
    void on_exit(Container& c);
    void report_boot_complete();
    void stop_services();
    void kill_remaining_services();
    void check_stopped();
    void signal(Container& c, int sig);
    void release_cgroup(Container& c);
    std::vector<Container*> of_kind(Kind k);

    EventLoop& loop_;
    Launcher& launcher_;
    Settings settings_;
    std::vector<Container> table_;
    Phase phase_ = Phase::init;
    PowerAction action_ = PowerAction::none;
    EventLoop::TimerId grace_timer_ = 0, kill_timer_ = 0;
};

}  // namespace berth::supervisor
