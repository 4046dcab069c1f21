// What PID 1 knows of one container from the image's /containers tree.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

#include "common/fs.hpp"
#include "supervisor/event_loop.hpp"

namespace berth::supervisor {

enum class Kind { onboot, service, onshutdown };
enum class State { pending, running, stopping, exited, failed };

const char* kind_name(Kind k);
const char* state_name(State s);

struct Container {
    Kind kind = Kind::service;
    std::string name;        // directory name: "000-dhcpcd" or "web"
    std::string bundle;      // absolute bundle directory
    std::string cgroup;      // absolute cgroup directory, "" when cgroup2 is absent
    State state = State::pending;
    pid_t pid = -1;
    fs::Fd pidfd;            // signals go through it: a reaped pid is never hit
    Millis started_ms = 0, ended_ms = 0;
    int exit_code = 0;       // valid when state is exited and exit_signal == 0
    int exit_signal = 0;
    std::string error;       // why it could not start
    bool pid_ns_init = false;  // pid 1 of its own pid namespace: the kernel drops signals it does not catch

    bool succeeded() const { return state == State::exited && exit_signal == 0 && exit_code == 0; }
    std::string describe_exit() const;  // "exit status 3", "killed by signal 9 (SIGKILL)", the error
};

// True when /proc/PID/status shows a handler for sig (SigCgt). False when it
// cannot be read.
bool catches_signal(pid_t pid, int sig);

// Lists the bundles of one kind under root ("/containers"), sorted by name.
std::vector<Container> discover(const std::string& root, Kind kind, const std::string& cgroup_root);

}  // namespace berth::supervisor
