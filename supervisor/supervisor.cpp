#include "supervisor/supervisor.hpp"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "common/log.hpp"
#include "config/dependency_graph.hpp"

namespace berth::supervisor {

const char* action_name(PowerAction a) {
    switch (a) {
        case PowerAction::none: return "none";
        case PowerAction::poweroff: return "poweroff";
        case PowerAction::reboot: return "reboot";
        case PowerAction::halt: return "halt";
    }
    return "?";
}

namespace {
PowerAction power_of(config::PowerOnFailure a) {
    return a == config::PowerOnFailure::poweroff ? PowerAction::poweroff
           : a == config::PowerOnFailure::reboot ? PowerAction::reboot
                                                 : PowerAction::none;
}
}  // namespace

Supervisor::Supervisor(EventLoop& loop, Launcher& launcher, Settings settings)
    : loop_(loop), launcher_(launcher), settings_(std::move(settings)) {
    for (Kind k : {Kind::onboot, Kind::service, Kind::onshutdown})
        for (auto& c : discover(settings_.containers_root, k, settings_.cgroup_root)) table_.push_back(std::move(c));
    // A bad runtime.json fails its container only, with every problem named.
    for (auto& c : table_) try {
            c.policy = config::load_service_policy(c.bundle);
        } catch (const std::exception& e) {
            c.state = State::failed;  // before any event: it never enters the life cycle
            c.broken = true;
            c.error = e.what();
        }
    std::map<std::string, const config::ServicePolicy*> services;
    for (auto& c : table_)
        if (c.kind == Kind::service) services[c.name] = &c.policy;
    for (auto& [name, err] : check_dependencies(services)) {
        Container* c = find(name);
        if (c->state == State::failed) continue;
        c->state = State::failed;
        c->broken = true;
        c->error = c->bundle + "/runtime.json: " + err;
    }
}

Container* Supervisor::find(const std::string& name) {
    Container* any = nullptr;
    for (auto& c : table_)
        if (c.name == name) {
            if (c.kind == Kind::service) return &c;
            any = &c;
        }
    return any;
}

std::vector<Container*> Supervisor::of_kind(Kind k) {
    std::vector<Container*> out;
    for (auto& c : table_)
        if (c.kind == k) out.push_back(&c);
    return out;
}

void Supervisor::cancel(EventLoop::TimerId& t) {
    if (t) loop_.cancel_timer(t);
    t = 0;
}

void Supervisor::boot() {
    phase_ = Phase::onboot;
    for (auto& c : table_)
        if (c.state == State::failed) log::error("{} {}: FAILED: {}", kind_name(c.kind), c.name, c.error);
    log::info("{} onboot, {} services, {} onshutdown containers", of_kind(Kind::onboot).size(),
              of_kind(Kind::service).size(), of_kind(Kind::onshutdown).size());
    start_next_sequenced();
}

bool Supervisor::move(Container& c, Event e) {
    auto t = transition(c.state, e);
    if (!t) {
        log::warn("{} {}: event `{}` ignored in state {}", kind_name(c.kind), c.name, event_name(e),
                  state_name(c.state));
        return false;
    }
    // Each state's timer belongs to that state.
    cancel(c.timer);
    cancel(c.watchdog);
    if (t->cancel_launch) {
        launcher_.cancel(c);
        ++c.attempt;  // a report still under way is stale
        kill_cgroup(c);
    }
    c.state = t->next;
    if (c.state != State::pending) c.waiting_for.clear();
    // A preparation is only ever taken over by the start that follows pending.
    if (c.state != State::pending && c.state != State::starting) launcher_.discard(c);
    if (t->release_cgroup) release_cgroup(c);
    report_boot_complete();
    return true;
}

// The start runs in a launch process (see Launcher); PID 1 only arms the
// setup deadline and goes back to its loop.
void Supervisor::launch(Container& c) {
    if (!move(c, Event::launch)) return;
    c.started_ms = loop_.now();
    c.ready_ms = 0;
    c.fail_reason.clear();
    c.error.clear();
    c.exit_code = c.exit_signal = 0;
    std::uint64_t attempt = ++attempts_;
    c.attempt = attempt;
    try {
        prepare_io(c);
        Millis limit = settings_.setup_timeout_ms;
        c.timer = loop_.add_timer(limit, [this, &c, limit] {
            c.timer = 0;
            launch_failed(c, "setup did not finish within " + std::to_string(limit) + " ms");
        });
        launcher_.start(c, [this, &c, attempt](LaunchResult r) { launched(c, attempt, std::move(r)); });
    } catch (const std::exception& e) {
        launch_failed(c, e.what());
    }
}

void Supervisor::launched(Container& c, std::uint64_t attempt, LaunchResult r) {
    if (c.state != State::starting || c.attempt != attempt) return;  // abandoned meanwhile
    if (!r.error.empty()) return launch_failed(c, r.error);
    c.pid = r.pid;
    c.pidfd = std::move(r.pidfd);
    c.pid_ns_init = r.pid_ns_init;
    // With the launch time, so that the moment the start began can be told.
    log::info("{} {}: started, pid {} in {} ms", kind_name(c.kind), c.name, c.pid, loop_.now() - c.started_ms);
    move(c, Event::started);
    // The process may have ended, and been reaped, before its report was read.
    for (auto it = unclaimed_.begin(); it != unclaimed_.end(); ++it) {
        if (it->pid != c.pid) continue;
        Unclaimed u = *it;
        unclaimed_.erase(it);
        // A pidfd that is not readable means this process still runs: the
        // record was an older process with the same pid.
        if (c.pidfd) {
            pollfd p{c.pidfd.get(), POLLIN, 0};
            if (::poll(&p, 1, 0) == 0) break;
        }
        return process_ended(c, u.code, u.status);
    }
    arm_run_timers(c);
    if (c.kind == Kind::onboot && phase_ == Phase::onboot && settings_.prepare_ahead) prepare_ahead();
}

void Supervisor::launch_failed(Container& c, const std::string& error) {
    if (c.state != State::starting) return;
    c.error = error;
    c.ended_ms = loop_.now();
    // An exec failure is a failure like any other: it counts toward give-up.
    move(c, Event::launch_failed);
    log::error("{} {}: FAILED to start: {}", kind_name(c.kind), c.name, c.error);
    after_end(c, true);
}

void Supervisor::arm_run_timers(Container& c) {
    if (c.kind == Kind::service) return arm_readiness(c);
    // A hung onboot or onshutdown container must not hang the machine.
    c.timer = loop_.add_timer(c.policy.timeout_ms, [this, &c] {
        c.timer = 0;
        log::error("{} {}: still running after {} ms, killing it", kind_name(c.kind), c.name, c.policy.timeout_ms);
        c.fail_reason = "timed out after " + std::to_string(c.policy.timeout_ms) + " ms";
        signal(c, SIGKILL);
    });
}

// Onboot and onshutdown containers run one at a time, in lexical order, each to
// completion; a failure is loud and runs the container's onFailure action.
// Called again when the current one ends (or fails to start).
void Supervisor::start_next_sequenced() {
    Kind k = phase_ == Phase::onboot ? Kind::onboot : Kind::onshutdown;
    for (Container* c : of_kind(k)) {
        if (c->state == State::starting || c->alive()) return;  // still waiting for it
        if (c->state != State::pending) continue;
        return launch(*c);
    }
    if (phase_ == Phase::onboot) start_services();
    else if (phase_ == Phase::onshutdown) stop_services();
}

// While an onboot container runs (DHCP waiting for a lease, a disk check),
// the next one, or after the last one the services, get their launch process
// and parsed config.json ready; they start only when the order allows it.
void Supervisor::prepare_ahead() {
    auto prepare = [this](Container& c) {
        try {
            prepare_io(c);  // the launch process inherits the log and readiness fds
            launcher_.prepare(c);
        } catch (const std::exception& e) {
            log::warn("{} {}: not prepared ahead: {}", kind_name(c.kind), c.name, e.what());
        }
    };
    bool after_current = false;
    for (Container* c : of_kind(Kind::onboot)) {
        if (c->alive()) after_current = true;
        else if (after_current && c->state == State::pending) return prepare(*c);
    }
    if (!after_current) return;  // it ended meanwhile: its successor starts outright
    size_t n = 0;
    for (Container* c : of_kind(Kind::service)) {
        if (n == kPreparedServices) break;
        if (c->state != State::pending || c->goal != Goal::up) continue;
        prepare(*c);
        ++n;
    }
}

void Supervisor::start_services() {
    phase_ = Phase::services;
    schedule();
    if (action_ != PowerAction::none) request_shutdown(action_);  // asked for during onboot
}

bool Supervisor::may_start(const Container& c, std::string& blocked_by) {
    auto check = [&](const std::vector<std::string>& names, auto ok) {
        for (const auto& n : names) {
            Container* d = find(n);
            if (d && !ok(*d)) {
                blocked_by = n;
                return false;
            }
        }
        return true;
    };
    bool down = false;
    auto gone = [&](const Container& d) { return d.state == State::failed || d.state == State::exited; };
    // A hard dependency that failed for good fails this service too.
    for (const auto& n : c.policy.depends_on)
        if (Container* d = find(n); d && gone(*d) && !d->succeeded()) down = true, blocked_by = n;
    if (down) return false;
    return check(c.policy.depends_on, [](const Container& d) { return d.ready() || d.succeeded(); }) &&
           check(c.policy.waits_for, [&](const Container& d) { return d.ready() || gone(d); }) &&
           check(c.policy.after, [](const Container& d) { return d.state != State::pending; });
}

// "db (not ready)": the dependency a pending service waits for, and why.
std::string Supervisor::blocker_text(const Container& d) {
    const char* why = "";
    switch (d.state) {
        case State::pending: why = "not started"; break;
        case State::starting: why = "starting"; break;
        case State::running: why = "not ready"; break;
        case State::ready: why = "ready"; break;
        case State::stopping: why = "stopping"; break;
        case State::backoff: why = "restarting"; break;
        case State::exited: why = d.goal == Goal::up ? "exited" : "stopped"; break;
        case State::failed: why = "failed"; break;
    }
    return d.name + " (" + why + ")";
}

// Every service whose relations allow it starts now; independent ones start
// together (their setups run side by side in launch processes), none waits
// for another's readiness unless it depends on it.
void Supervisor::schedule() {
    if (phase_ != Phase::services || scheduling_) return;
    scheduling_ = true;  // launches below may make services ready: the loop sees it
    bool progress = true;
    while (progress) {
        progress = false;
        for (Container* c : of_kind(Kind::service)) {
            if (c->state != State::pending || c->goal != Goal::up) continue;
            std::string dep;
            if (may_start(*c, dep)) {
                launch(*c);
                progress = true;
            } else if (Container* d = find(dep); d && (d->state == State::failed || d->state == State::exited) &&
                                                 !d->succeeded()) {
                c->error = "dependency " + dep + " failed";
                log::error("services {}: not started: dependency {} failed", c->name, dep);
                move(*c, Event::dependency_failed);
                progress = true;
            } else if (d) {
                c->waiting_for = blocker_text(*d);
            }
        }
    }
    scheduling_ = false;
    report_boot_complete();
}

// A pending service is settled when it cannot start until something goes
// right again by outside action or a restart: what it waits for has failed at
// least once (stopping, restarting, exited, failed) or is itself settled.
// While what it waits for is still starting, or running within its readiness
// timeout, the boot is not over yet.
bool Supervisor::settled(const Container& c, std::vector<const Container*>& seen) const {
    if (std::find(seen.begin(), seen.end(), &c) != seen.end()) return true;  // cycles are refused earlier
    seen.push_back(&c);
    std::string dep;
    auto* self = const_cast<Supervisor*>(this);
    if (self->may_start(c, dep)) return false;
    const Container* d = self->find(dep);
    if (!d) return false;
    switch (d->state) {
        case State::pending: return settled(*d, seen);
        case State::starting:
        case State::running:
        case State::ready: return false;
        default: return true;
    }
}

void Supervisor::report_boot_complete() {
    if (boot_reported_ || phase_ != Phase::services || scheduling_) return;
    std::vector<const Container*> waiting;
    for (Container* c : of_kind(Kind::service)) {
        if (c->state == State::starting) return;
        if (c->state != State::pending || c->goal != Goal::up) continue;
        std::vector<const Container*> seen;
        if (!settled(*c, seen)) return;
        waiting.push_back(c);
    }
    boot_reported_ = true;
    int ok = 0, failed = 0, running = 0;
    for (auto& c : table_) {
        if (c.kind == Kind::onboot) (c.succeeded() ? ok : failed)++;
        if (c.kind == Kind::service && (c.state == State::running || c.state == State::ready)) ++running;
    }
    log::info("boot complete in {} ms: {} onboot ok, {} onboot failed, {} services running",
              loop_.now() - settings_.boot_started_ms, ok, failed, running);
    if (!waiting.empty()) {
        std::string list;
        for (const Container* c : waiting) {
            std::string dep;
            may_start(*c, dep);
            const Container* d = find(dep);
            list += (list.empty() ? "" : ", ") + c->name + " (for " + (d ? blocker_text(*d) : dep) + ")";
        }
        log::warn("boot complete: still waiting: {}", list);
    }
    if (settings_.on_boot_complete) settings_.on_boot_complete();
}

void Supervisor::child_exited(pid_t pid, int code, int status) {
    if (launcher_.reaped(pid, code, status)) return;
    for (auto& c : table_)
        if (c.pid == pid && c.alive()) return process_ended(c, code, status);
    // Perhaps a container whose launch report is still on its way.
    unclaimed_.push_back({pid, code, status});
    if (unclaimed_.size() > kUnclaimedExits) unclaimed_.pop_front();
}

void Supervisor::process_ended(Container& c, int code, int status) {
    c.pid = -1;
    c.pidfd.reset();
    c.ended_ms = loop_.now();
    c.exit_code = code == CLD_EXITED ? status : 0;
    c.exit_signal = code == CLD_EXITED ? 0 : status;
    move(c, Event::process_exited);
    // Output written just before the exit still belongs to this run.
    if (c.log) c.log->drain();
    bool failed = !c.succeeded();
    Millis ran = c.ended_ms - c.started_ms;
    if (!failed) log::info("{} {}: {} after {} ms", kind_name(c.kind), c.name, c.describe_exit(), ran);
    else if (c.kind == Kind::onboot) log::error("onboot {}: FAILED: {} after {} ms", c.name, c.describe_exit(), ran);
    else log::warn("{} {}: {} after {} ms", kind_name(c.kind), c.name, c.describe_exit(), ran);
    after_end(c, failed);
}

// What follows the end of a container's run, or of a start that failed.
void Supervisor::after_end(Container& c, bool failed) {
    if (c.kind != Kind::service) {
        if (phase_ == Phase::onboot && failed && c.policy.on_failure != config::PowerOnFailure::cont) {
            log::error("onboot {}: onFailure {}", c.name, action_name(power_of(c.policy.on_failure)));
            return request_shutdown(power_of(c.policy.on_failure));
        }
        if (phase_ == Phase::onboot || phase_ == Phase::onshutdown) start_next_sequenced();
        else if (phase_ == Phase::onboot_draining) run_onshutdown_when_onboot_stopped();
        else if (phase_ == Phase::stopping) check_stopped();
        return;
    }
    if (phase_ == Phase::stopping) return stop_services();
    if (phase_ == Phase::services) after_service_exit(c, failed);
}

// The restart policy of one service whose process ended (or never started).
void Supervisor::after_service_exit(Container& c, bool failed) {
    if (c.goal != Goal::up) {
        log::info("services {}: stopped", c.name);
        if (c.goal == Goal::restart) {
            c.goal = Goal::up;
            move(c, Event::reset);
            schedule();
        }
        return;
    }
    Millis up_since = c.ready_ms ? c.ready_ms : c.started_ms;
    Decision d = decide_restart(c.policy, c.tracker, failed, up_since, loop_.now());
    if (d.verdict == Verdict::give_up) {
        log::error("services {}: gave up after {} failures{}", c.name, c.tracker.failures.size(),
                   c.policy.give_up->window_ms ? " within " + std::to_string(c.policy.give_up->window_ms) + " ms" : "");
        c.error = "gave up after " + std::to_string(c.tracker.failures.size()) + " failures";
        move(c, Event::give_up);
        failed_for_good(c);
        PowerAction a = power_of(c.policy.give_up->action);
        if (a != PowerAction::none) request_shutdown(a);
        return;
    }
    if (d.verdict == Verdict::stay_down) {
        move(c, Event::stay_down);
        if (failed) failed_for_good(c);
        schedule();
        return;
    }
    move(c, Event::retry);
    log::info("services {}: restarting in {} ms", c.name, d.delay_ms);
    c.timer = loop_.add_timer(d.delay_ms, [this, &c] {
        c.timer = 0;
        if (c.state != State::backoff || phase_ != Phase::services) return;
        ++c.restarts;
        launch(c);
    });
}

// Hard dependents of a service that is down for good go down too; services
// that only wait for it may now start.
void Supervisor::failed_for_good(Container& c) {
    for (Container* d : dependents(c, true)) {
        if (d->alive()) {
            d->goal = Goal::down;
            d->error = "dependency " + c.name + " failed";
            begin_stop(*d, "its dependency failed");
        } else if (d->state == State::backoff || d->state == State::starting) {
            d->error = "dependency " + c.name + " failed";
            move(*d, Event::dependency_failed);
        }
    }
    schedule();
}

std::vector<Container*> Supervisor::dependents(const Container& c, bool hard_only) {
    std::vector<Container*> out;
    for (Container* s : of_kind(Kind::service)) {
        auto rel = hard_only ? s->policy.depends_on : predecessors(s->policy);
        for (const auto& n : rel)
            if (n == c.name) {
                out.push_back(s);
                break;
            }
    }
    return out;
}

}  // namespace berth::supervisor
