#include "supervisor/restart_policy.hpp"

#include <algorithm>

namespace berth::supervisor {

namespace {
// Records a failure; true when giveUp's count is reached. Only what giveUp
// can still count is kept (at most `failures` times, none older than the
// window), so a crash loop costs no memory over time.
bool count_failure(const config::GiveUp& g, RestartTracker& t, Millis now) {
    t.failures.push_back(now);
    if (g.window_ms > 0)
        while (!t.failures.empty() && now - t.failures.front() > g.window_ms) t.failures.pop_front();
    while (int(t.failures.size()) > g.failures) t.failures.pop_front();
    return int(t.failures.size()) >= g.failures;
}
}  // namespace

Decision decide_restart(const config::ServicePolicy& p, RestartTracker& t, bool failed, Millis up_since,
                        Millis now) {
    // A service that stayed up long enough starts the backoff over.
    if (now - up_since >= p.restart_reset_after_ms) t.next_delay_ms = -1;
    if (failed && p.give_up && count_failure(*p.give_up, t, now)) return {Verdict::give_up, 0};
    bool again = p.restart == config::Restart::always || (p.restart == config::Restart::on_failure && failed);
    if (!again) return {Verdict::stay_down, 0};
    Millis d = t.next_delay_ms < 0 ? p.restart_delay_ms : t.next_delay_ms;
    t.next_delay_ms = std::min(d * 2, std::max(p.restart_delay_max_ms, p.restart_delay_ms));
    return {Verdict::restart, d};
}

}  // namespace berth::supervisor
