// What PID 1 knows of one container from the image's /containers tree.
#pragma once
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/fs.hpp"
#include "config/service_policy.hpp"
#include "supervisor/event_loop.hpp"
#include "supervisor/restart_policy.hpp"
#include "supervisor/service_log.hpp"
#include "supervisor/service_state.hpp"

namespace berth::supervisor {

enum class Kind { onboot, service, onshutdown };
// What the user asked of a service: up (the default), down (`stop`: not
// restarted), or restart (`restart`: start again once stopped).
enum class Goal { up, down, restart };

const char* kind_name(Kind k);
const char* state_name(State s);

struct Container {
    Kind kind = Kind::service;
    std::string name;        // directory name: "000-dhcpcd" or "web"
    std::string bundle;      // absolute bundle directory
    std::string cgroup;      // absolute cgroup directory, "" when cgroup2 is absent
    State state = State::pending;  // changed only through Supervisor::move (service_state.hpp)
    Goal goal = Goal::up;
    pid_t pid = -1;
    fs::Fd pidfd;            // signals go through it: a reaped pid is never hit
    Millis started_ms = 0, ended_ms = 0;
    int exit_code = 0;       // valid when state is exited and exit_signal == 0
    int exit_signal = 0;
    std::string error;       // why it could not start
    bool pid_ns_init = false;  // pid 1 of its own pid namespace: the kernel drops signals it does not catch

    config::ServicePolicy policy;   // from runtime.json; a bad one fails this container only
    Millis ready_ms = 0;
    std::string waiting_for;     // pending: what it waits for, "db (not ready)"; "" when it may start
    std::string fail_reason;     // set by PID 1 when it ends the process: "timed out", "not ready"...
    bool broken = false;         // bad runtime.json or dependencies: never started
    std::string status_text;     // last STATUS= from the service
    int restarts = 0;
    std::uint64_t attempt = 0;   // the launch in progress; a stale report is ignored
    RestartTracker tracker;
    EventLoop::TimerId timer = 0;     // the state's timer: setup deadline, run/readiness timeout, stop timeout, restart delay
    EventLoop::TimerId watchdog = 0;  // systemd WATCHDOG=1 deadline
    std::unique_ptr<ServiceLog> log;  // kept across restarts
    fs::Fd notify_r, notify_w;        // notify-fd pipe, or the NOTIFY_SOCKET socket in notify_r
    int notify_fd_messages = 0;       // NOTIFY_SOCKET messages that carried descriptors
    std::string notify_socket;        // host path of the NOTIFY_SOCKET socket
    std::string notify_partial;       // readiness arriving split across reads

    bool succeeded() const {
        return state == State::exited && exit_signal == 0 && exit_code == 0 && fail_reason.empty();
    }
    bool ready() const { return state == State::ready; }
    // Its process exists and PID 1 knows its pid.
    bool alive() const { return state == State::running || state == State::ready || state == State::stopping; }
    std::string describe_exit() const;  // "exit status 3", "killed by signal 9 (SIGKILL)", the error
};

// True when /proc/PID/status shows a handler for sig (SigCgt). False when it
// cannot be read.
bool catches_signal(pid_t pid, int sig);

// Lists the bundles of one kind under root ("/containers"), sorted by name.
std::vector<Container> discover(const std::string& root, Kind kind, const std::string& cgroup_root);

}  // namespace berth::supervisor
