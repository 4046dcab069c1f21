// The container table and its life cycle in PID 1: onboot containers one by one
// to completion (each with a timeout), then the services in dependency order
// with readiness and restart policy, then (on request) the orderly stop:
// onshutdown containers, services in reverse dependency order.
#pragma once
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "supervisor/fd_sink.hpp"
#include "supervisor/container.hpp"
#include "supervisor/event_loop.hpp"

namespace berth::supervisor {

enum class PowerAction { none, poweroff, reboot, halt };
const char* action_name(PowerAction a);

struct Settings {
    std::string containers_root = "/containers";
    std::string cgroup_root;            // "/sys/fs/cgroup/berth", or "" without cgroup2
    Millis kill_wait_ms = 2000;         // after SIGKILL, before giving up on a process
    Millis boot_started_ms = 0;         // monotonic time /init started, for the summary
    ConsoleOutput* console = nullptr;   // service output echo; nullptr: none
    std::string log_dir;                // "/var/log"; "" keeps logs in memory only
    std::string notify_dir;             // "/run/berth/notify"; "" disables NOTIFY_SOCKET
    std::function<void()> on_boot_complete;  // once, after the boot summary
    // A start's setup (bundle, runtime.json, hooks, clone) must report within
    // this; then its launch process and cgroup are killed and the start fails.
    Millis setup_timeout_ms = 120000;
    // Prepare the next starts while an onboot container runs (Launcher::prepare);
    // off only to measure what it saves.
    bool prepare_ahead = true;
};

// What one start produced: a pid (and its pidfd), or the error.
struct LaunchResult {
    pid_t pid = -1;
    fs::Fd pidfd;
    bool pid_ns_init = false;  // pid 1 of its own pid namespace
    std::string error;         // non-empty: the start failed
};

// Starts containers without blocking PID 1. Injected so that tests can
// replace the runtime. The container's log pipe (c.log) and readiness fds are
// set up before start() is called.
struct Launcher {
    using Done = std::function<void(LaunchResult)>;
    virtual ~Launcher() = default;
    // Begins starting c and returns at once. `done` runs exactly once with the
    // outcome, from the event loop (a test's launcher may also call it before
    // start() returns), unless cancel(c) is called first.
    virtual void start(Container& c, Done done) = 0;
    // Abandons c's start in progress: kills the launch process; `done` never
    // runs. No-op when nothing is in progress.
    virtual void cancel(Container& c) = 0;
    // From the reaper: true when pid was one of the launcher's own processes.
    virtual bool reaped(pid_t pid, int code, int status) = 0;
    // Prepares c's start ahead of time, while ordering does not allow it to
    // run yet: only work that cannot see what earlier containers change (the
    // launch process, its config.json parsed); the set-up that depends on the
    // host's mounts, devices and namespaces waits for start(). The next
    // start(c) takes the preparation over. Optional: a launcher that cannot
    // prepare ignores it.
    virtual void prepare(Container&) {}
    // Drops c's preparation, if any, leaving nothing behind (start never
    // comes: shut down, failed dependency, stopped). No-op otherwise.
    virtual void discard(Container&) {}
};

class Supervisor {
public:
    Supervisor(EventLoop& loop, Launcher& launcher, Settings settings);

    void boot();                                    // onboot sequence, then services
    void child_exited(pid_t pid, int code, int status);  // from the reaper (siginfo code/status)
    void request_shutdown(PowerAction action);      // idempotent; the first request wins
    bool shutdown_complete() const { return phase_ == Phase::done; }
    bool shutting_down() const { return phase_ >= Phase::onboot_draining; }
    PowerAction action() const { return action_; }
    const std::vector<Container>& containers() const { return table_; }
    Container* find(const std::string& name);       // a service by name, else any container

    // Control requests; each returns "" or the reason it was refused.
    std::string start(const std::string& name);
    std::string stop(const std::string& name);
    std::string restart(const std::string& name);
    std::string kill(const std::string& name, int sig);

    // Readiness input (also driven directly by tests).
    void notify_data(Container& c, std::string_view data, pid_t sender);

    // Test hook: what the notify-fd / NOTIFY_SOCKET handlers call.
    void mark_ready(Container& c);

    // How many recently reaped pids nobody claimed are kept: a container
    // whose process exits before its launch report arrives is matched here.
    static constexpr size_t kUnclaimedExits = 64;
    // How many services are prepared ahead while the last onboot container
    // runs: each preparation is a waiting process.
    static constexpr size_t kPreparedServices = 8;

private:
    // onboot_draining: shutdown was asked for while an onboot container ran; it
    // is stopped (bounded by its stop timeout and the kill wait) before any
    // onshutdown container starts.
    enum class Phase { init, onboot, services, onboot_draining, onshutdown, stopping, done };

    void start_next_sequenced();
    void prepare_ahead();            // what comes after the running onboot container
    void run_onshutdown_when_onboot_stopped();
    void stopped_for_good(Container& c);  // the kill wait ran out: move the shutdown on
    void start_services();
    void schedule();                 // starts every service whose dependencies allow it
    bool may_start(const Container& c, std::string& blocked_by);
    bool move(Container& c, Event e);  // the one place state changes
    void launch(Container& c);
    void launched(Container& c, std::uint64_t attempt, LaunchResult r);
    void launch_failed(Container& c, const std::string& error);
    void arm_run_timers(Container& c);
    void process_ended(Container& c, int code, int status);
    void after_end(Container& c, bool failed);
    bool settled(const Container& c, std::vector<const Container*>& seen) const;
    std::string blocker_text(const Container& c);
    void prepare_io(Container& c);
    void arm_readiness(Container& c);
    void arm_watchdog(Container& c);
    void after_service_exit(Container& c, bool failed);
    void failed_for_good(Container& c);
    void report_boot_complete();
    void begin_stop(Container& c, const char* why);
    void stop_services();            // shutdown: reverse dependency order
    void check_stopped();
    void signal(Container& c, int sig);
    void kill_cgroup(Container& c);
    void release_cgroup(Container& c);
    void cancel(EventLoop::TimerId& t);
    void watch_notify(Container& c);
    void dispose_fds(Container& c, const std::vector<int>& fds);
    void retry_fd_sink();
    std::vector<Container*> of_kind(Kind k);
    std::vector<Container*> dependents(const Container& c, bool hard_only);

    EventLoop& loop_;
    Launcher& launcher_;
    Settings settings_;
    std::vector<Container> table_;
    struct Unclaimed {
        pid_t pid;
        int code, status;
    };
    std::deque<Unclaimed> unclaimed_;  // reaped before anyone knew the pid
    FdSink fd_sink_;                   // closes descriptors services send on NOTIFY_SOCKET
    bool fd_sink_retry_ = false;       // a timer will pass on what the sink has not taken
    std::uint64_t attempts_ = 0;
    Phase phase_ = Phase::init;
    PowerAction action_ = PowerAction::none;
    bool boot_reported_ = false;
    bool scheduling_ = false;
};

}  // namespace berth::supervisor
