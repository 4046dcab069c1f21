// The life-cycle table, every state against every event: what is allowed,
// where it leads, and which clean-up it asks for.
#include <catch2/catch.hpp>

#include <map>
#include <tuple>

#include "supervisor/service_state.hpp"

using namespace berth::supervisor;

namespace {

struct Want {
    State next;
    bool cancel_launch = false;
    bool release_cgroup = false;
};

using S = State;
using E = Event;

// The whole table; any pair not listed must be refused.
const std::map<std::pair<State, Event>, Want>& table() {
    static const std::map<std::pair<State, Event>, Want> t = {
        {{S::pending, E::launch}, {S::starting}},
        {{S::pending, E::stop}, {S::exited}},
        {{S::pending, E::dependency_failed}, {S::failed}},
        {{S::pending, E::reset}, {S::pending}},
        {{S::pending, E::abandoned}, {S::failed}},
        {{S::starting, E::started}, {S::running}},
        {{S::starting, E::launch_failed}, {S::failed, true, true}},
        {{S::starting, E::stop}, {S::exited, true, true}},
        {{S::starting, E::dependency_failed}, {S::failed, true, true}},
        {{S::starting, E::abandoned}, {S::failed, true, true}},
        {{S::running, E::became_ready}, {S::ready}},
        {{S::running, E::stop}, {S::stopping}},
        {{S::running, E::process_exited}, {S::exited, false, true}},
        {{S::ready, E::stop}, {S::stopping}},
        {{S::ready, E::process_exited}, {S::exited, false, true}},
        {{S::stopping, E::process_exited}, {S::exited, false, true}},
        {{S::stopping, E::unkillable}, {S::failed}},
        {{S::backoff, E::launch}, {S::starting}},
        {{S::backoff, E::stop}, {S::exited}},
        {{S::backoff, E::dependency_failed}, {S::failed}},
        {{S::backoff, E::reset}, {S::pending}},
        {{S::exited, E::retry}, {S::backoff}},
        {{S::exited, E::give_up}, {S::failed}},
        {{S::exited, E::stay_down}, {S::exited}},
        {{S::exited, E::reset}, {S::pending}},
        {{S::failed, E::retry}, {S::backoff}},
        {{S::failed, E::give_up}, {S::failed}},
        {{S::failed, E::stay_down}, {S::failed}},
        {{S::failed, E::reset}, {S::pending}},
    };
    return t;
}

}  // namespace

TEST_CASE("the life cycle: every state against every event") {
    int allowed = 0;
    for (int si = 0; si < kStateCount; ++si)
        for (int ei = 0; ei < kEventCount; ++ei) {
            State s = State(si);
            Event e = Event(ei);
            INFO("state " << si << ", event " << event_name(e));
            auto got = transition(s, e);
            auto want = table().find({s, e});
            if (want == table().end()) {
                CHECK_FALSE(got.has_value());
                continue;
            }
            ++allowed;
            REQUIRE(got.has_value());
            CHECK(got->next == want->second.next);
            CHECK(got->cancel_launch == want->second.cancel_launch);
            CHECK(got->release_cgroup == want->second.release_cgroup);
        }
    CHECK(allowed == int(table().size()));
}

TEST_CASE("the life cycle: properties that keep the machine safe") {
    for (int si = 0; si < kStateCount; ++si)
        for (int ei = 0; ei < kEventCount; ++ei) {
            State s = State(si);
            auto t = transition(s, Event(ei));
            if (!t) continue;
            INFO("state " << si << ", event " << event_name(Event(ei)));
            // Only a start under way has a launch to cancel.
            if (t->cancel_launch) CHECK(s == State::starting);
            // Nothing enters starting but through launch, nor a live state but from starting.
            if (t->next == State::starting) CHECK(Event(ei) == Event::launch);
            if (t->next == State::running) CHECK(s == State::starting);
            // A process that is gone leaves its cgroup behind to be removed.
            if (Event(ei) == Event::process_exited) CHECK(t->release_cgroup);
        }
    // Stop always ends a run that is live or on its way.
    for (State s : {State::pending, State::starting, State::running, State::ready, State::backoff})
        CHECK(transition(s, Event::stop).has_value());
}
