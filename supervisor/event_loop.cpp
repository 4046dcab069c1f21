#include "supervisor/event_loop.hpp"

#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/log.hpp"

namespace berth::supervisor {

Millis monotonic_ms() { return clock::monotonic_ms(); }

EventLoop::EventLoop(const sigset_t& signals, SignalHandler handler) : on_signal_(std::move(handler)) {
    epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_) throw_errno("epoll_create1");
    if (::sigprocmask(SIG_BLOCK, &signals, nullptr) < 0) throw_errno("sigprocmask");
    signal_fd_.reset(::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!signal_fd_) throw_errno("signalfd");
    timer_fd_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    if (!timer_fd_) throw_errno("timerfd_create");
    watch(signal_fd_.get(), EPOLLIN, [this](std::uint32_t) { read_signals(); });
    watch(timer_fd_.get(), EPOLLIN, [this](std::uint32_t) {
        std::uint64_t expirations;
        while (::read(timer_fd_.get(), &expirations, sizeof expirations) > 0) {}
        run_due_timers();
    });
}

namespace {
std::uint64_t tag(int fd, std::uint32_t gen) { return std::uint64_t(gen) << 32 | std::uint32_t(fd); }
}  // namespace

// A watch of an fd already watched changes its events and handler and keeps
// its generation: its events of the current batch still reach it.
void EventLoop::watch(int fd, std::uint32_t events, FdHandler handler) {
    auto it = fds_.find(fd);
    bool known = it != fds_.end();
    std::uint32_t gen = known ? it->second.gen : next_gen_++;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = tag(fd, gen);
    if (::epoll_ctl(epoll_.get(), known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0)
        throw_errno("epoll_ctl add fd " + std::to_string(fd));
    fds_[fd] = {gen, std::move(handler)};
}

void EventLoop::unwatch(int fd) {
    if (fds_.erase(fd)) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

EventLoop::TimerId EventLoop::add_timer(Millis delay_ms, TimerHandler handler) {
    TimerId id = next_timer_++;
    Millis at = now() + (delay_ms < 0 ? 0 : delay_ms);
    timers_.emplace(at, std::make_pair(id, std::move(handler)));
    timer_deadline_[id] = at;
    arm_timerfd();
    return id;
}

void EventLoop::cancel_timer(TimerId id) {
    auto it = timer_deadline_.find(id);
    if (it == timer_deadline_.end()) return;
    auto range = timers_.equal_range(it->second);
    for (auto t = range.first; t != range.second; ++t)
        if (t->second.first == id) {
            timers_.erase(t);
            break;
        }
    timer_deadline_.erase(it);
    arm_timerfd();
}

void EventLoop::arm_timerfd() {
    itimerspec spec{};
    if (!timers_.empty()) {
        Millis at = timers_.begin()->first;
        spec.it_value.tv_sec = at / 1000;
        spec.it_value.tv_nsec = (at % 1000) * 1000000;
        if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
    }
    if (::timerfd_settime(timer_fd_.get(), TFD_TIMER_ABSTIME, &spec, nullptr) < 0)
        log::error("timerfd_settime: {}", std::strerror(errno));
}

void EventLoop::run_due_timers() {
    Millis t = now();
    while (!timers_.empty() && timers_.begin()->first <= t) {
        auto node = timers_.extract(timers_.begin());
        timer_deadline_.erase(node.mapped().first);
        try {
            node.mapped().second();
        } catch (const std::exception& e) {
            log::error("timer handler: {}", e.what());
        }
    }
    arm_timerfd();
}

void EventLoop::read_signals() {
    signalfd_siginfo si;
    for (;;) {
        ssize_t n = ::read(signal_fd_.get(), &si, sizeof si);
        if (n != ssize_t(sizeof si)) break;
        try {
            on_signal_(si);
        } catch (const std::exception& e) {
            log::error("signal handler: {}", e.what());
        }
    }
}

void EventLoop::run_once(int max_wait_ms) {
    epoll_event events[32];
    int n = ::epoll_wait(epoll_.get(), events, 32, max_wait_ms);
    if (n < 0) {
        if (errno != EINTR) log::error("epoll_wait: {}", std::strerror(errno));
        return;
    }
    for (int i = 0; i < n; ++i) dispatch(events[i].data.u64, events[i].events);
    // Timers may be due without the timerfd having fired yet in this round.
    run_due_timers();
}

// An event whose watch is gone (unwatched, or its fd number reused by a new
// watch earlier in this batch) is dropped; epoll is level-triggered, so what
// is still ready on a live watch is reported again.
void EventLoop::dispatch(std::uint64_t what, std::uint32_t events) {
    auto it = fds_.find(int(std::uint32_t(what)));
    if (it == fds_.end() || what != tag(it->first, it->second.gen)) return;
    FdHandler handler = it->second.handler;  // a handler may unwatch itself
    try {
        handler(events);
    } catch (const std::exception& e) {
        log::error("fd handler: {}", e.what());
    }
}

}  // namespace berth::supervisor
