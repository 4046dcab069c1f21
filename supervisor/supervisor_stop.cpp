// Stopping: one service (its stop signal, its stop timeout, then SIGKILL of
// its whole cgroup), the control requests, and the shutdown sequence.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "common/log.hpp"
#include "config/dependency_graph.hpp"
#include "supervisor/supervisor.hpp"

namespace berth::supervisor {

void Supervisor::signal(Container& c, int sig) {
    // Through the pidfd: a reaped and reused pid is never hit.
    if (c.pidfd && ::syscall(SYS_pidfd_send_signal, c.pidfd.get(), sig, nullptr, 0) < 0 && errno != ESRCH)
        log::warn("signal {} to {}: {}", sig, c.name, std::strerror(errno));
    // Whatever forked away from the main process goes with it.
    if (sig == SIGKILL) kill_cgroup(c);
}

void Supervisor::kill_cgroup(Container& c) {
    if (!c.cgroup.empty()) fs::try_write_file(fs::join(c.cgroup, "cgroup.kill"), "1");
}

void Supervisor::release_cgroup(Container& c) {
    if (c.cgroup.empty()) return;
    // Processes the service left behind (daemons that forked away) die with it.
    if (::rmdir(c.cgroup.c_str()) < 0 && errno == EBUSY) {
        kill_cgroup(c);
        loop_.add_timer(100, [path = c.cgroup] { ::rmdir(path.c_str()); });
    }
}

void Supervisor::begin_stop(Container& c, const char* why) {
    if (c.state == State::starting) {
        // Nothing runs yet: the launch is abandoned and the start never happened.
        log::info("{} {}: start abandoned ({})", kind_name(c.kind), c.name, why);
        c.ended_ms = loop_.now();
        if (move(c, Event::stop)) after_end(c, false);
        return;
    }
    if (!c.alive() || !move(c, Event::stop)) return;
    int sig = c.policy.stop_signal;
    log::info("{} {}: stopping ({}): SIG{}, {} ms before SIGKILL", kind_name(c.kind), c.name, why,
              sigabbrev_np(sig) ? sigabbrev_np(sig) : "?", c.policy.stop_timeout_ms);
    signal(c, sig);
    signal(c, SIGCONT);  // a stopped process must be able to act on the signal
    // The kernel discards a signal that pid 1 of a pid namespace does not
    // catch: waiting out the timeout would only delay the stop.
    if (c.pid_ns_init && c.pid > 0 && sig != SIGKILL && !catches_signal(c.pid, sig)) {
        log::info("{} {}: pid 1 of its namespace has no SIG{} handler, sending SIGKILL now", kind_name(c.kind),
                  c.name, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
        signal(c, SIGKILL);
    }
    c.timer = loop_.add_timer(c.policy.stop_timeout_ms, [this, &c] {
        c.timer = 0;
        if (c.state != State::stopping) return;
        log::warn("{} {}: still running after {} ms, sending SIGKILL", kind_name(c.kind), c.name,
                  c.policy.stop_timeout_ms);
        signal(c, SIGKILL);
        c.timer = loop_.add_timer(settings_.kill_wait_ms, [this, &c] {
            c.timer = 0;
            if (c.state != State::stopping) return;
            // Unkillable (stuck in the kernel): stop waiting so the machine still goes down.
            log::error("{}: did not die after SIGKILL, giving up on it", c.name);
            c.error = "did not die after SIGKILL";
            move(c, Event::unkillable);
            stopped_for_good(c);
        });
    });
}

std::string Supervisor::start(const std::string& name) {
    Container* c = find(name);
    if (!c || c->kind != Kind::service) return "no service named " + name;
    if (shutting_down()) return "shutting down";
    if (c->alive() || c->state == State::starting) return name + " is already running";
    if (c->broken) return c->error;
    c->goal = Goal::up;
    c->tracker = {};
    move(*c, Event::reset);
    c->error.clear();
    if (phase_ == Phase::services) schedule();
    return "";
}

std::string Supervisor::stop(const std::string& name) {
    Container* c = find(name);
    if (!c || c->kind != Kind::service) return "no service named " + name;
    c->goal = Goal::down;
    if (c->state == State::backoff || c->state == State::pending) {
        move(*c, Event::stop);
        return "";
    }
    begin_stop(*c, "stop requested");
    return "";
}

std::string Supervisor::restart(const std::string& name) {
    Container* c = find(name);
    if (!c || c->kind != Kind::service) return "no service named " + name;
    if (shutting_down()) return "shutting down";
    if (!c->alive() && c->state != State::starting) return start(name);
    c->goal = Goal::restart;
    begin_stop(*c, "restart requested");
    return "";
}

std::string Supervisor::kill(const std::string& name, int sig) {
    Container* c = find(name);
    if (!c) return "no container named " + name;
    if (!c->alive()) return name + " is not running";
    if (sig <= 0 || sig >= NSIG) return "bad signal " + std::to_string(sig);
    signal(*c, sig);
    return "";
}

void Supervisor::stopped_for_good(Container& c) {
    if (phase_ == Phase::stopping) stop_services();
    else if (phase_ == Phase::onboot_draining && c.kind == Kind::onboot) run_onshutdown_when_onboot_stopped();
}

void Supervisor::request_shutdown(PowerAction action) {
    if (phase_ >= Phase::onboot_draining) {
        log::info("{} already in progress", action_name(action_));
        return;
    }
    if (action_ == PowerAction::none) action_ = action;
    Phase was = phase_;
    phase_ = Phase::onboot_draining;  // from here on nothing starts but onshutdown containers
    if (was == Phase::onboot) {
        // The running onboot container gets stopped like a service; the rest never starts.
        log::info("{} requested during onboot", action_name(action));
        for (Container* c : of_kind(Kind::onboot))
            if (c->state == State::pending || c->state == State::starting) {
                c->error = "not started: shutting down";
                move(*c, Event::abandoned);
            } else if (c->alive()) {
                c->policy.stop_timeout_ms = std::min(c->policy.stop_timeout_ms, c->policy.timeout_ms);
                begin_stop(*c, "shutdown");
            }
    }
    // Nothing restarts or starts from now on; a start under way is abandoned.
    for (Container* c : of_kind(Kind::service))
        if (c->state == State::backoff || c->state == State::pending || c->state == State::starting) {
            if (c->state == State::starting) log::info("services {}: start abandoned (shutdown)", c->name);
            if (c->error.empty()) c->fail_reason = "not started: shutting down";
            move(*c, Event::stop);
        }
    log::info("{} requested: running onshutdown containers, then stopping services", action_name(action_));
    run_onshutdown_when_onboot_stopped();
}

// Onshutdown containers never run beside an onboot container: whatever onboot
// still runs is stopped first (its stop timeout, then SIGKILL and the kill
// wait, so this wait is bounded too).
void Supervisor::run_onshutdown_when_onboot_stopped() {
    if (phase_ != Phase::onboot_draining) return;
    for (Container* c : of_kind(Kind::onboot))
        if (c->alive()) {
            log::info("onboot {}: waiting for it to stop before onshutdown", c->name);
            return;
        }
    phase_ = Phase::onshutdown;
    start_next_sequenced();
}

// Reverse dependency order: a service stops once nothing that depends on it
// (or is ordered after it) is still alive. Called again on every exit.
void Supervisor::stop_services() {
    phase_ = Phase::stopping;
    for (Container* c : of_kind(Kind::service)) {
        if (c->state != State::running && c->state != State::ready) continue;
        bool needed = false;
        for (Container* d : dependents(*c, false))
            if (d->alive()) needed = true;
        if (!needed) begin_stop(*c, "shutdown");
    }
    for (Container* c : of_kind(Kind::onboot))
        if (c->state == State::running || c->state == State::ready) begin_stop(*c, "shutdown");
    check_stopped();
}

void Supervisor::check_stopped() {
    if (phase_ != Phase::stopping) return;
    for (auto& c : table_)
        if (c.alive()) return;
    log::info("all containers stopped");
    phase_ = Phase::done;
}

}  // namespace berth::supervisor
