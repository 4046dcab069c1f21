// PID 1's console: its own log lines and the services' echoed lines go out
// through one bounded queue, in order, on a non-blocking console. A write the
// console cannot take now (EAGAIN: a slow serial line, a loaded host) is
// queued, not lost; the event loop writes the queue out when the console can
// take more (EPOLLOUT). Past the bound, whole new lines are dropped and
// counted, and one note says how many once the console has caught up: memory
// stays bounded and PID 1 never waits for the console, except in the bounded
// flush_for() of its last steps.
#pragma once
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace berth {

class ConsoleOutput {
public:
    // The system calls it makes, replaced in unit tests. write: bytes
    // written or -errno. wait_writable: > 0 writable, 0 timed out, -errno.
    struct Io {
        std::function<ssize_t(int fd, const char* data, size_t size)> write;
        std::function<int(int fd, int timeout_ms)> wait_writable;
        std::function<std::int64_t()> now_ms;
    };
    static Io real_io();

    static constexpr size_t kDefaultLimit = 256 * 1024;

    explicit ConsoleOutput(int fd, size_t limit = kDefaultLimit, Io io = real_io());

    int fd() const { return fd_; }
    // `text` is one or more whole lines. Never blocks.
    void write(std::string_view text);
    // Writes out what the console takes now. Never blocks.
    void flush();
    // Waits for the console at most `timeout_ms` in all (PID 1's last steps:
    // shutdown, the emergency path). Returns whether everything went out.
    bool flush_for(int timeout_ms);

    bool pending() const { return head_ < queue_.size(); }
    size_t queued_bytes() const { return queue_.size() - head_; }
    std::uint64_t dropped_lines() const { return dropped_lines_; }
    std::uint64_t dropped_bytes() const { return dropped_bytes_; }

    // Told when the queue goes from empty to not (true) and back (false):
    // PID 1 watches the console for EPOLLOUT only while something waits.
    void on_backlog(std::function<void(bool)> f) { on_backlog_ = std::move(f); }

private:
    // Writes from the queue's head until it is empty or the console is full.
    void write_queue();
    bool write_note();
    void append(std::string_view text);
    void count_lost(std::string_view text);
    void compact();
    void set_backlog(bool backlog);

    int fd_;
    size_t limit_;
    Io io_;
    std::string queue_;
    size_t head_ = 0;
    bool backlog_ = false;
    std::uint64_t dropped_lines_ = 0, dropped_bytes_ = 0;
    std::uint64_t unreported_lines_ = 0, unreported_bytes_ = 0;
    std::function<void(bool)> on_backlog_;
};

}  // namespace berth
