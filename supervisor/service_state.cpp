#include "supervisor/service_state.hpp"

namespace berth::supervisor {

std::optional<Transition> transition(State s, Event e) {
    using S = State;
    using E = Event;
    switch (s) {
        case S::pending:
            if (e == E::launch) return Transition{S::starting};
            if (e == E::stop) return Transition{S::exited};
            if (e == E::dependency_failed) return Transition{S::failed};
            if (e == E::reset) return Transition{S::pending};
            if (e == E::abandoned) return Transition{S::failed};
            break;
        case S::starting:
            if (e == E::started) return Transition{S::running};
            // Whatever the launch made so far (a half-set-up process in the
            // cgroup) goes with it.
            if (e == E::launch_failed) return Transition{S::failed, true, true};
            if (e == E::stop) return Transition{S::exited, true, true};
            if (e == E::dependency_failed || e == E::abandoned) return Transition{S::failed, true, true};
            break;
        case S::running:
            if (e == E::became_ready) return Transition{S::ready};
            if (e == E::stop) return Transition{S::stopping};
            if (e == E::process_exited) return Transition{S::exited, false, true};
            break;
        case S::ready:
            if (e == E::stop) return Transition{S::stopping};
            if (e == E::process_exited) return Transition{S::exited, false, true};
            break;
        case S::stopping:
            if (e == E::process_exited) return Transition{S::exited, false, true};
            // Stuck in the kernel: its cgroup cannot go; the machine moves on.
            if (e == E::unkillable) return Transition{S::failed};
            break;
        case S::backoff:
            if (e == E::launch) return Transition{S::starting};
            if (e == E::stop) return Transition{S::exited};
            if (e == E::dependency_failed) return Transition{S::failed};
            if (e == E::reset) return Transition{S::pending};
            break;
        case S::exited:
            if (e == E::retry) return Transition{S::backoff};
            if (e == E::give_up) return Transition{S::failed};
            if (e == E::stay_down) return Transition{S::exited};
            if (e == E::reset) return Transition{S::pending};
            break;
        case S::failed:
            if (e == E::retry) return Transition{S::backoff};
            if (e == E::give_up || e == E::stay_down) return Transition{S::failed};
            if (e == E::reset) return Transition{S::pending};
            break;
    }
    return std::nullopt;
}

const char* event_name(Event e) {
    switch (e) {
        case Event::launch: return "launch";
        case Event::started: return "started";
        case Event::launch_failed: return "launch failed";
        case Event::became_ready: return "ready";
        case Event::stop: return "stop";
        case Event::process_exited: return "exited";
        case Event::unkillable: return "unkillable";
        case Event::retry: return "retry";
        case Event::give_up: return "give up";
        case Event::stay_down: return "stay down";
        case Event::dependency_failed: return "dependency failed";
        case Event::reset: return "reset";
        case Event::abandoned: return "abandoned";
        case Event::count_: break;
    }
    return "?";
}

}  // namespace berth::supervisor
