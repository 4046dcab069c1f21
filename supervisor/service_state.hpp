// The life cycle of one container as an explicit state machine: every change
// of Container::state goes through transition(), a pure function of the
// current state and the event, tested for every pair. The supervisor does the
// side effects the transition names (it owns the timers, the launcher and the
// cgroups); what happens after an exit (restart, give up) is the restart
// policy's verdict, fed back in as an event.
#pragma once
#include <optional>

namespace berth::supervisor {

// pending:  not started yet: waiting for onboot, its turn or its dependencies.
// starting: a launch process is setting it up (bundle, hooks, clone); bounded
//           by the setup deadline.
// running:  its process runs; a service with readiness has not said so yet.
// ready:    running and ready (at once without a readiness protocol).
// stopping: PID 1 sent the stop signal and waits for the exit.
// backoff:  waiting out its restart delay.
// exited:   ended, not to be started again unless asked.
// failed:   could not start, gave up, or a hard dependency failed.
enum class State { pending, starting, running, ready, stopping, backoff, exited, failed };

enum class Event {
    launch,          // its turn came (dependencies met, onboot slot, restart delay over)
    started,         // the launch reported a pid
    launch_failed,   // the launch reported an error, died, or missed the setup deadline
    became_ready,    // READY=1, the notify-fd newline, or no readiness protocol
    stop,            // stop request, shutdown, a failed dependency, a timeout
    process_exited,  // the reaper collected its main process
    unkillable,      // still there after SIGKILL and the kill wait
    retry,           // restart policy: start again after the delay
    give_up,         // restart policy: stays down, counted as failed
    stay_down,       // restart policy: stays down as it ended
    dependency_failed,  // a hard dependency went down for good before it ran
    reset,           // `start`/`restart` after it ended: back to pending
    abandoned,       // an onboot container that will never run: the machine shuts down
    count_
};

inline constexpr int kStateCount = int(State::failed) + 1;
inline constexpr int kEventCount = int(Event::count_);

struct Transition {
    State next;
    bool cancel_launch = false;   // kill the launch process and what it created so far
    bool release_cgroup = false;  // its processes are gone (or must go): remove the cgroup
};

// The new state and its actions, or nothing when the event does not apply in
// that state (the supervisor ignores it). Leaving any state cancels that
// state's timer (setup deadline, readiness/run timeout, stop timeout, restart
// delay, watchdog); the caller arms the next state's timer.
std::optional<Transition> transition(State s, Event e);

const char* event_name(Event e);

}  // namespace berth::supervisor
