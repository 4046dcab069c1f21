// One service's output: a pipe PID 1 creates once and keeps across restarts
// (the container gets its write end as stdout and stderr), read without ever
// blocking into a bounded ring of time-stamped lines that drops the oldest and
// counts (bytes that are not UTF-8 become U+FFFD), echoed to the console and to /var/log/NAME.log with size rotation.
// Every write PID 1 makes here is non-blocking: a slow console queues lines
// (bounded, common/console_output.hpp) and a full disk costs lines, never a
// stall.
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <string>
#include <string_view>

#include "common/console_output.hpp"
#include "common/fs.hpp"
#include "config/service_policy.hpp"

namespace berth::supervisor {

struct LogLine {
    std::int64_t wall_ms;  // CLOCK_REALTIME, for people; never used for timing
    std::string text;
};

class ServiceLog {
public:
    // console: where echoed lines go (nullptr: nowhere); log_dir: "/var/log".
    ServiceLog(std::string name, config::LogPolicy policy, ConsoleOutput* console, std::string log_dir);

    int write_fd() const { return w_.get(); }
    int read_fd() const { return r_.get(); }

    // Reads what is available, at most `budget` bytes so that one flooding
    // service cannot hold the loop. Returns the bytes read.
    size_t drain(size_t budget = 65536);
    // Splits bytes read from the pipe into lines (what drain() does with
    // them; tests and the fuzzer call it directly).
    void feed(std::string_view bytes);
    void add_line(std::string_view text);

    const std::deque<LogLine>& lines() const { return lines_; }
    std::uint64_t dropped() const { return dropped_; }
    std::uint64_t total() const { return total_; }
    // Every line gets a sequence number (0, 1, ...); the ring holds
    // [first_seq(), total()). line(seq) is null for a line no longer (or not
    // yet) there. Readers that stream the ring keep a sequence number, not an
    // index, so that lines dropped meanwhile are noticed.
    std::uint64_t first_seq() const { return total_ - lines_.size(); }
    const LogLine* line(std::uint64_t seq) const;

    // Called with each new line, once it is in the ring; a follower returning
    // false is removed, and so is one whose id is given to unfollow() (its
    // reader went away: a quiet service must not collect dead followers).
    using Follower = std::function<bool(const LogLine&)>;
    using FollowerId = std::uint64_t;
    FollowerId follow(Follower f);
    void unfollow(FollowerId id);
    size_t followers() const { return followers_.size(); }

    static constexpr size_t kMaxLine = 4096;
    // The ring's text, whatever ringLines says: lines of invalid UTF-8 grow
    // threefold, and PID 1's memory per service stays a few MiB.
    static constexpr size_t kMaxRingBytes = 4 << 20;

private:
    void cut_long_line();
    void keep_in_ring(const LogLine& l);
    void notify(const LogLine& l);
    void to_file(const std::string& formatted);
    void rotate();
    int rotated_present() const;
    std::string rotated(int k) const;

    std::string name_;
    config::LogPolicy policy_;
    ConsoleOutput* console_;
    std::string path_;
    fs::Fd r_, w_, file_;
    std::uint64_t file_size_ = 0;
    std::string partial_;
    std::deque<LogLine> lines_;
    size_t ring_bytes_ = 0;  // the text of lines_
    std::uint64_t dropped_ = 0, total_ = 0;
    struct Following {
        FollowerId id;
        Follower fn;
        bool gone = false;  // unfollowed while followers were being called
    };
    std::list<Following> followers_;
    FollowerId next_follower_ = 1;
    bool notifying_ = false;
};

// "2024-05-01T12:00:00.123Z"
std::string format_wall(std::int64_t wall_ms);

}  // namespace berth::supervisor
