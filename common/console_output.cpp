#include "common/console_output.hpp"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "common/clock.hpp"

namespace berth {

ConsoleOutput::Io ConsoleOutput::real_io() {
    Io io;
    io.write = [](int fd, const char* data, size_t size) -> ssize_t {
        ssize_t n = ::write(fd, data, size);
        return n < 0 ? -errno : n;
    };
    io.wait_writable = [](int fd, int timeout_ms) {
        pollfd p{fd, POLLOUT, 0};
        int r = ::poll(&p, 1, timeout_ms);
        return r < 0 ? -errno : r;
    };
    io.now_ms = [] { return clock::monotonic_ms(); };
    return io;
}

ConsoleOutput::ConsoleOutput(int fd, size_t limit, Io io) : fd_(fd), limit_(limit), io_(std::move(io)) {}

void ConsoleOutput::write(std::string_view text) {
    if (text.empty()) return;
    write_queue();  // what waits goes first, so that lines keep their order
    if (!pending()) {
        // The common case: straight to the console, nothing kept.
        while (!text.empty()) {
            ssize_t n = io_.write(fd_, text.data(), text.size());
            if (n == -EINTR) continue;
            if (n == -EAGAIN || n == 0) break;
            if (n < 0) {
                count_lost(text);  // the console is gone: nothing to wait for
                return;
            }
            text.remove_prefix(size_t(n));
        }
        if (text.empty()) return;
        // The rest of a line the console cut is kept, so that the next line
        // does not start in its middle; only an oversized write is cut.
        if (text.size() > limit_) {
            count_lost(text.substr(limit_));
            append(text.substr(0, limit_));
            append("\n");
        } else {
            append(text);
        }
        return;
    }
    if (queued_bytes() + text.size() > limit_) {
        count_lost(text);
        return;
    }
    append(text);
}

void ConsoleOutput::flush() { write_queue(); }

bool ConsoleOutput::flush_for(int timeout_ms) {
    std::int64_t deadline = io_.now_ms() + timeout_ms;
    write_queue();
    while (pending()) {
        std::int64_t left = deadline - io_.now_ms();
        if (left <= 0) return false;
        int r = io_.wait_writable(fd_, int(left));
        if (r == -EINTR) continue;
        if (r <= 0) return false;
        write_queue();
    }
    return true;
}

void ConsoleOutput::write_queue() {
    while (pending()) {
        ssize_t n = io_.write(fd_, queue_.data() + head_, queued_bytes());
        if (n == -EINTR) continue;
        if (n == -EAGAIN || n == 0) {
            compact();
            return;
        }
        if (n < 0) {
            // The console is gone (EIO after a hangup, EBADF): what waits
            // can never go out; it is counted, not kept.
            count_lost(std::string_view(queue_.data() + head_, queued_bytes()));
            queue_.clear(), head_ = 0;
            set_backlog(false);
            return;
        }
        head_ += size_t(n);
    }
    queue_.clear(), head_ = 0;
    if (unreported_lines_ > 0 && !write_note()) return;
    set_backlog(false);
}

// Caught up after losing lines: says so once, before any later line. False
// when the console took none of it (then it is tried again later).
bool ConsoleOutput::write_note() {
    std::string note = fmt::format(
        "berth: warning: the console could not keep up: {} line(s), {} bytes, not shown here; "
        "`berth logs SERVICE` has every service's lines\n",
        unreported_lines_, unreported_bytes_);
    std::string_view rest = note;
    while (!rest.empty()) {
        ssize_t n = io_.write(fd_, rest.data(), rest.size());
        if (n == -EINTR) continue;
        if (n <= 0 && rest.size() == note.size()) {
            // Full: wait for EPOLLOUT with the note still to say. Gone: say nothing.
            set_backlog(n == -EAGAIN || n == 0);
            return false;
        }
        if (n <= 0) break;
        rest.remove_prefix(size_t(n));
    }
    unreported_lines_ = unreported_bytes_ = 0;
    if (!rest.empty()) append(rest);
    return rest.empty();
}

void ConsoleOutput::count_lost(std::string_view text) {
    std::uint64_t lines = std::max<std::uint64_t>(1, std::count(text.begin(), text.end(), '\n'));
    dropped_lines_ += lines, unreported_lines_ += lines;
    dropped_bytes_ += text.size(), unreported_bytes_ += text.size();
}

void ConsoleOutput::append(std::string_view text) {
    queue_.append(text);
    set_backlog(true);
}

// Written bytes are cut from the front only when they are half the buffer,
// so that a slow console costs amortised constant time per byte.
void ConsoleOutput::compact() {
    if (head_ > 0 && head_ * 2 >= queue_.size()) {
        queue_.erase(0, head_);
        head_ = 0;
    }
}

void ConsoleOutput::set_backlog(bool backlog) {
    if (backlog == backlog_) return;
    backlog_ = backlog;
    if (on_backlog_) on_backlog_(backlog);
}

}  // namespace berth
