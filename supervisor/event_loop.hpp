// One epoll loop for PID 1: signals arrive through a signalfd (no lost
// wake-ups, no async handlers), timers are CLOCK_MONOTONIC deadlines kept in a
// map and served by one timerfd, and any other fd can be watched.
#pragma once
#include <signal.h>
#include <sys/signalfd.h>

#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>

#include "common/fs.hpp"

namespace berth::supervisor {

using Millis = std::int64_t;
Millis monotonic_ms();

class EventLoop {
public:
    using SignalHandler = std::function<void(const struct signalfd_siginfo&)>;
    using FdHandler = std::function<void(std::uint32_t events)>;
    using TimerHandler = std::function<void()>;
    using TimerId = std::uint64_t;

    // Blocks `signals` in the calling thread and delivers them to `handler`.
    explicit EventLoop(const sigset_t& signals, SignalHandler handler);

    void watch(int fd, std::uint32_t events, FdHandler handler);
    void unwatch(int fd);

    TimerId add_timer(Millis delay_ms, TimerHandler handler);
    void cancel_timer(TimerId id);

    // Timers run on CLOCK_MONOTONIC; tests substitute a fake clock and call
    // run_due_timers() after advancing it.
    void set_clock(std::function<Millis()> clock) { clock_ = std::move(clock); }
    Millis now() const { return clock_(); }
    void run_due_timers();
    bool has_timer(TimerId id) const { return timer_deadline_.count(id) > 0; }

    // Waits at most `max_wait_ms` (-1: until something happens) and runs the
    // handlers of what is ready. Exceptions from a handler are logged, never
    // propagated: PID 1 must not leave its loop.
    void run_once(int max_wait_ms = -1);

private:
    void arm_timerfd();
    void dispatch(std::uint64_t tag, std::uint32_t events);
    void read_signals();

    fs::Fd epoll_, signal_fd_, timer_fd_;
    SignalHandler on_signal_;
    // Each watch of an fd number gets a generation, carried in its epoll
    // events: an event of one batch whose fd was closed and its number
    // reused by a later watch in that batch is told from the new one's.
    struct Watch {
        std::uint32_t gen;
        FdHandler handler;
    };
    std::unordered_map<int, Watch> fds_;
    std::uint32_t next_gen_ = 1;
    std::multimap<Millis, std::pair<TimerId, TimerHandler>> timers_;
    std::unordered_map<TimerId, Millis> timer_deadline_;
    TimerId next_timer_ = 1;
    std::function<Millis()> clock_ = monotonic_ms;
};

}  // namespace berth::supervisor
