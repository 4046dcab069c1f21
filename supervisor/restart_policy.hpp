// What happens after a service exits: restart after a delay that doubles per
// consecutive failure up to a cap, reset once the service stayed up long
// enough, or give up after N failures within a window. Pure: time comes in as
// arguments, so the state machine is tested against a fake clock.
#pragma once
#include <deque>

#include "config/service_policy.hpp"
#include "supervisor/event_loop.hpp"

namespace berth::supervisor {

struct RestartTracker {
    Millis next_delay_ms = -1;     // -1: the policy's restartDelay
    std::deque<Millis> failures;   // giveUp's recent failures: empty without giveUp, at most giveUp.failures
};

enum class Verdict { restart, stay_down, give_up };

struct Decision {
    Verdict verdict = Verdict::stay_down;
    Millis delay_ms = 0;
};

// `failed`: non-zero exit, killed by a signal, or could not be started.
// `up_since`: when it started, or became ready when it has readiness.
Decision decide_restart(const config::ServicePolicy& p, RestartTracker& t, bool failed, Millis up_since,
                        Millis now);

}  // namespace berth::supervisor
