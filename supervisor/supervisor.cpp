#include "supervisor/supervisor.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "common/log.hpp"

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

Supervisor::Supervisor(EventLoop& loop, Launcher& launcher, Settings settings)
    : loop_(loop), launcher_(launcher), settings_(std::move(settings)) {
    for (Kind k : {Kind::onboot, Kind::service, Kind::onshutdown})
        for (auto& c : discover(settings_.containers_root, k, settings_.cgroup_root)) table_.push_back(std::move(c));
}

std::vector<Container*> Supervisor::of_kind(Kind k) {
    std::vector<Container*> out;
    for (auto& c : table_)
        if (c.kind == k) out.push_back(&c);
    return out;
}

void Supervisor::boot() {
    phase_ = Phase::onboot;
    log::info("{} onboot, {} services, {} onshutdown containers", of_kind(Kind::onboot).size(),
              of_kind(Kind::service).size(), of_kind(Kind::onshutdown).size());
    start_next_sequenced();
}

void Supervisor::launch(Container& c) {
    c.started_ms = monotonic_ms();
    try {
        launcher_.start(c);
        c.state = State::running;
        log::info("{} {}: started, pid {}", kind_name(c.kind), c.name, c.pid);
    } catch (const std::exception& e) {
        c.state = State::failed;
        c.error = e.what();
        c.ended_ms = monotonic_ms();
        log::error("{} {}: FAILED to start: {}", kind_name(c.kind), c.name, c.error);
        release_cgroup(c);
    }
}

// Onboot and onshutdown containers run one at a time, in lexical order, each to
// completion; a failure is loud but does not stop the sequence.
void Supervisor::start_next_sequenced() {
    Kind k = phase_ == Phase::onboot ? Kind::onboot : Kind::onshutdown;
    for (Container* c : of_kind(k)) {
        if (c->state == State::running) return;  // still waiting for it
        if (c->state != State::pending) continue;
        launch(*c);
        if (c->state == State::running) return;
    }
    // The sequence is over.
    if (phase_ == Phase::onboot) start_services();
    else if (phase_ == Phase::onshutdown) stop_services();
}

void Supervisor::start_services() {
    phase_ = Phase::services;
    for (Container* c : of_kind(Kind::service)) launch(*c);
    report_boot_complete();
    if (action_ != PowerAction::none) request_shutdown(action_);  // asked for during onboot
}

void Supervisor::report_boot_complete() {
    int ok = 0, failed = 0, running = 0;
    for (auto& c : table_) {
        if (c.kind == Kind::onboot) (c.succeeded() ? ok : failed)++;
        if (c.kind == Kind::service && c.state == State::running) ++running;
    }
    log::info("boot complete in {} ms: {} onboot ok, {} onboot failed, {} services running",
              monotonic_ms() - settings_.boot_started_ms, ok, failed, running);
}

void Supervisor::child_exited(pid_t pid, int code, int status) {
    for (auto& c : table_) {
        if (c.pid != pid || (c.state != State::running && c.state != State::stopping)) continue;
        c.pid = -1;
        c.pidfd.reset();
        c.ended_ms = monotonic_ms();
        c.state = State::exited;
        c.exit_code = code == CLD_EXITED ? status : 0;
        c.exit_signal = code == CLD_EXITED ? 0 : status;
        on_exit(c);
        return;
    }
}

void Supervisor::on_exit(Container& c) {
    Millis ran = c.ended_ms - c.started_ms;
    if (c.succeeded()) log::info("{} {}: {} after {} ms", kind_name(c.kind), c.name, c.describe_exit(), ran);
    else if (c.kind == Kind::onboot) log::error("onboot {}: FAILED: {} after {} ms", c.name, c.describe_exit(), ran);
    else log::warn("{} {}: {} after {} ms", kind_name(c.kind), c.name, c.describe_exit(), ran);
    release_cgroup(c);
    if (c.kind != Kind::service && (phase_ == Phase::onboot || phase_ == Phase::onshutdown))
        start_next_sequenced();
    else if (phase_ == Phase::stopping)
        check_stopped();
}

void Supervisor::signal(Container& c, int sig) {
    if (!c.pidfd) return;
    if (::syscall(SYS_pidfd_send_signal, c.pidfd.get(), sig, nullptr, 0) < 0 && errno != ESRCH)
        log::warn("signal {} to {}: {}", sig, c.name, std::strerror(errno));
    // Whatever forked away from the main process goes with it.
    if (sig == SIGKILL && !c.cgroup.empty()) fs::try_write_file(fs::join(c.cgroup, "cgroup.kill"), "1");
}

void Supervisor::release_cgroup(Container& c) {
    if (c.cgroup.empty()) return;
    // Processes the service left behind (daemons that forked away) die with it.
    if (::rmdir(c.cgroup.c_str()) < 0 && errno == EBUSY) {
        fs::try_write_file(fs::join(c.cgroup, "cgroup.kill"), "1");
        loop_.add_timer(100, [path = c.cgroup] { ::rmdir(path.c_str()); });
    }
}

void Supervisor::request_shutdown(PowerAction action) {
    if (phase_ == Phase::onshutdown || phase_ == Phase::stopping || phase_ == Phase::done) {
        log::info("{} already in progress", action_name(action_));
        return;
    }
    if (action_ == PowerAction::none) action_ = action;
    if (phase_ == Phase::onboot) {
        // The running onboot container gets stopped like a service; the rest never starts.
        log::info("{} requested during onboot", action_name(action));
        for (Container* c : of_kind(Kind::onboot))
            if (c->state == State::pending) c->state = State::failed, c->error = "not started: shutting down";
    }
    log::info("{} requested: running onshutdown containers, then stopping services", action_name(action_));
    phase_ = Phase::onshutdown;
    start_next_sequenced();
}

void Supervisor::stop_services() {
    phase_ = Phase::stopping;
    int n = 0;
    for (auto& c : table_) {
        if (c.state != State::running) continue;
        c.state = State::stopping;
        signal(c, SIGTERM);
        signal(c, SIGCONT);  // a stopped process must be able to act on TERM
        ++n;
        // The kernel discards a signal that pid 1 of a pid namespace does not
        // catch: waiting out the grace period would only delay the shutdown.
        if (c.pid_ns_init && c.pid > 0 && !catches_signal(c.pid, SIGTERM)) {
            log::info("{} {}: pid 1 of its namespace has no SIGTERM handler, sending SIGKILL now",
                      kind_name(c.kind), c.name);
            signal(c, SIGKILL);
        }
    }
    log::info("sent SIGTERM to {} containers, grace {} ms", n, settings_.stop_grace_ms);
    grace_timer_ = loop_.add_timer(settings_.stop_grace_ms, [this] { kill_remaining_services(); });
    check_stopped();
}

void Supervisor::kill_remaining_services() {
    grace_timer_ = 0;
    for (auto& c : table_)
        if (c.state == State::stopping) {
            log::warn("{} {}: still running after {} ms, sending SIGKILL", kind_name(c.kind), c.name,
                      settings_.stop_grace_ms);
            signal(c, SIGKILL);
        }
    kill_timer_ = loop_.add_timer(settings_.kill_wait_ms, [this] {
        kill_timer_ = 0;
        for (auto& c : table_)
            if (c.state == State::stopping) log::error("{}: did not die after SIGKILL, giving up on it", c.name);
        phase_ = Phase::done;
    });
    check_stopped();
}

void Supervisor::check_stopped() {
    if (phase_ != Phase::stopping) return;
    for (auto& c : table_)
        if (c.state == State::stopping || c.state == State::running) return;
    if (grace_timer_) loop_.cancel_timer(grace_timer_);
    if (kill_timer_) loop_.cancel_timer(kill_timer_);
    log::info("all containers stopped");
    phase_ = Phase::done;
}

}  // namespace berth::supervisor
