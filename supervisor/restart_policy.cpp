#include "supervisor/restart_policy.hpp"

#include <algorithm>

namespace berth::supervisor {

Decision decide_restart(const config::ServicePolicy& p, RestartTracker& t, bool failed, Millis up_since,
                        Millis now) {
    // A service that stayed up long enough starts the backoff over.
    if (now - up_since >= p.restart_reset_after_ms) t.next_delay_ms = -1;
    if (failed) {
        t.failures.push_back(now);
        if (p.give_up && p.give_up->window_ms > 0)
            while (!t.failures.empty() && now - t.failures.front() > p.give_up->window_ms) t.failures.pop_front();
        if (p.give_up && int(t.failures.size()) >= p.give_up->failures) return {Verdict::give_up, 0};
    }
    bool again = p.restart == config::Restart::always || (p.restart == config::Restart::on_failure && failed);
    if (!again) return {Verdict::stay_down, 0};
    Millis d = t.next_delay_ms < 0 ? p.restart_delay_ms : t.next_delay_ms;
    t.next_delay_ms = std::min(d * 2, std::max(p.restart_delay_max_ms, p.restart_delay_ms));
    return {Verdict::restart, d};
}

}  // namespace berth::supervisor
