#include "supervisor/supervisor.hpp"

#include <signal.h>
#include <unistd.h>

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
            c.state = State::failed;
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

void Supervisor::launch(Container& c) {
    c.started_ms = loop_.now();
    c.ready = false;
    c.fail_reason.clear();
    c.exit_code = c.exit_signal = 0;
    try {
        prepare_io(c);
        launcher_.start(c);
        c.state = State::running;
        // With the launch time, so that the moment the start began can be told.
        log::info("{} {}: started, pid {} in {} ms", kind_name(c.kind), c.name, c.pid, loop_.now() - c.started_ms);
    } catch (const std::exception& e) {
        // An exec failure is a failure like any other: it counts toward give-up.
        c.error = e.what();
        c.ended_ms = loop_.now();
        c.state = State::failed;
        log::error("{} {}: FAILED to start: {}", kind_name(c.kind), c.name, c.error);
        release_cgroup(c);
        if (c.kind == Kind::service && phase_ == Phase::services) after_service_exit(c, true);
        return;
    }
    if (c.kind != Kind::service) {
        // A hung onboot or onshutdown container must not hang the machine.
        c.timer = loop_.add_timer(c.policy.timeout_ms, [this, &c] {
            c.timer = 0;
            log::error("{} {}: still running after {} ms, killing it", kind_name(c.kind), c.name, c.policy.timeout_ms);
            c.fail_reason = "timed out after " + std::to_string(c.policy.timeout_ms) + " ms";
            signal(c, SIGKILL);
        });
    } else {
        arm_readiness(c);
    }
}

// Onboot and onshutdown containers run one at a time, in lexical order, each to
// completion; a failure is loud and runs the container's onFailure action.
void Supervisor::start_next_sequenced() {
    Kind k = phase_ == Phase::onboot ? Kind::onboot : Kind::onshutdown;
    for (Container* c : of_kind(k)) {
        if (c->state == State::running || c->state == State::stopping) return;  // still waiting for it
        if (c->state != State::pending) continue;
        launch(*c);
        if (c->state == State::running) return;
        if (k == Kind::onboot && c->policy.on_failure != config::PowerOnFailure::cont)
            return request_shutdown(power_of(c->policy.on_failure));
    }
    if (phase_ == Phase::onboot) start_services();
    else if (phase_ == Phase::onshutdown) stop_services();
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
    return check(c.policy.depends_on, [](const Container& d) { return (d.state == State::running && d.ready) || d.succeeded(); }) &&
           check(c.policy.waits_for, [&](const Container& d) { return (d.state == State::running && d.ready) || gone(d); }) &&
           check(c.policy.after, [](const Container& d) { return d.state != State::pending; });
}

// Every service whose relations allow it starts now; independent ones start
// together, none waits for another's readiness unless it depends on it.
void Supervisor::schedule() {
    if (phase_ != Phase::services || scheduling_) return;
    scheduling_ = true;  // launches below may make services ready: the loop sees it
    bool progress = true;
    while (progress) {
        progress = false;
        for (Container* c : of_kind(Kind::service)) {
            if (c->state != State::pending || !c->want_up) continue;
            std::string dep;
            if (may_start(*c, dep)) {
                launch(*c);
                progress = true;
            } else if (Container* d = find(dep); d && d->state != State::pending &&
                                                 (d->state == State::failed || d->state == State::exited) &&
                                                 !d->succeeded()) {
                c->state = State::failed;
                c->error = "dependency " + dep + " failed";
                log::error("services {}: not started: dependency {} failed", c->name, dep);
                progress = true;
            }
        }
    }
    scheduling_ = false;
    report_boot_complete();
}

void Supervisor::report_boot_complete() {
    if (boot_reported_) return;
    for (Container* c : of_kind(Kind::service))
        if (c->state == State::pending && c->want_up) return;
    boot_reported_ = true;
    int ok = 0, failed = 0, running = 0;
    for (auto& c : table_) {
        if (c.kind == Kind::onboot) (c.succeeded() ? ok : failed)++;
        if (c.kind == Kind::service && c.state == State::running) ++running;
    }
    log::info("boot complete in {} ms: {} onboot ok, {} onboot failed, {} services running",
              loop_.now() - settings_.boot_started_ms, ok, failed, running);
    if (settings_.on_boot_complete) settings_.on_boot_complete();
}

void Supervisor::child_exited(pid_t pid, int code, int status) {
    for (auto& c : table_) {
        if (c.pid != pid || !c.alive()) continue;
        c.pid = -1;
        c.pidfd.reset();
        c.ended_ms = loop_.now();
        c.state = State::exited;
        c.exit_code = code == CLD_EXITED ? status : 0;
        c.exit_signal = code == CLD_EXITED ? 0 : status;
        cancel(c.timer);
        cancel(c.watchdog);
        // Output written just before the exit still belongs to this run.
        if (c.log) c.log->drain();
        on_exit(c, !c.succeeded());
        return;
    }
}

void Supervisor::on_exit(Container& c, bool failed) {
    Millis ran = c.ended_ms - c.started_ms;
    if (!failed) log::info("{} {}: {} after {} ms", kind_name(c.kind), c.name, c.describe_exit(), ran);
    else if (c.kind == Kind::onboot) log::error("onboot {}: FAILED: {} after {} ms", c.name, c.describe_exit(), ran);
    else log::warn("{} {}: {} after {} ms", kind_name(c.kind), c.name, c.describe_exit(), ran);
    release_cgroup(c);
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
    if (phase_ == Phase::stopping || phase_ == Phase::onshutdown || phase_ == Phase::onboot_draining) {
        if (phase_ == Phase::stopping) stop_services();
        return;
    }
    after_service_exit(c, failed);
}

// The restart policy of one service whose process ended (or never started).
void Supervisor::after_service_exit(Container& c, bool failed) {
    if (!c.want_up) {
        log::info("services {}: stopped", c.name);
        if (c.restart_requested) {
            c.restart_requested = false;
            c.want_up = true;
            c.state = State::pending;
            schedule();
        }
        return;
    }
    Millis up_since = c.ready ? c.ready_ms : c.started_ms;
    Decision d = decide_restart(c.policy, c.tracker, failed, up_since, loop_.now());
    if (d.verdict == Verdict::give_up) {
        log::error("services {}: gave up after {} failures{}", c.name, c.tracker.failures.size(),
                   c.policy.give_up->window_ms ? " within " + std::to_string(c.policy.give_up->window_ms) + " ms" : "");
        c.error = "gave up after " + std::to_string(c.tracker.failures.size()) + " failures";
        c.state = State::failed;
        failed_for_good(c);
        PowerAction a = power_of(c.policy.give_up->action);
        if (a != PowerAction::none) request_shutdown(a);
        return;
    }
    if (d.verdict == Verdict::stay_down) {
        if (failed) failed_for_good(c);
        schedule();
        return;
    }
    c.state = State::backoff;
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
            d->want_up = false;
            d->error = "dependency " + c.name + " failed";
            begin_stop(*d, "its dependency failed");
        } else if (d->state == State::backoff) {
            cancel(d->timer);
            d->state = State::failed;
            d->error = "dependency " + c.name + " failed";
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
