#include "supervisor/service_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/utf8.hpp"

namespace berth::supervisor {

namespace {
std::int64_t wall_now_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return std::int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}
}  // namespace

std::string format_wall(std::int64_t wall_ms) {
    // The UTC date from the day count (the proleptic Gregorian calendar in
    // 400-year eras), not gmtime_r: glibc's time zone code behind it links
    // sscanf, iconv and the float parsers into PID 1.
    std::int64_t ms = wall_ms % 1000 < 0 ? wall_ms % 1000 + 1000 : wall_ms % 1000;
    std::int64_t secs = (wall_ms - ms) / 1000;
    std::int64_t days = secs / 86400, in_day = secs % 86400;
    if (in_day < 0) in_day += 86400, --days;
    std::int64_t z = days + 719468;  // days since 0000-03-01
    std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    std::int64_t doe = z - era * 146097;                                   // [0, 146096]
    std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
    std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);             // [0, 365], from March
    std::int64_t mp = (5 * doy + 2) / 153;                                  // [0, 11], March = 0
    std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
    std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
    std::int64_t year = yoe + era * 400 + (month <= 2);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", year, month, day, in_day / 3600,
                       in_day / 60 % 60, in_day % 60, ms);
}

ServiceLog::ServiceLog(std::string name, config::LogPolicy policy, ConsoleOutput* console, std::string log_dir)
    : name_(std::move(name)), policy_(policy), console_(console) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) throw_errno("log pipe for " + name_);
    r_.reset(p[0]);
    w_.reset(p[1]);
    if (::fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) throw_errno("log pipe for " + name_ + ": O_NONBLOCK");
    if (policy_.file) {
        path_ = log_dir + "/" + name_ + ".log";
        file_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC, 0640));
        struct stat st{};
        if (file_ && ::fstat(file_.get(), &st) == 0) file_size_ = std::uint64_t(st.st_size);
    }
}

size_t ServiceLog::drain(size_t budget) {
    char buf[8192];
    size_t got = 0;
    while (got < budget) {
        ssize_t n = ::read(r_.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += size_t(n);
        feed(std::string_view(buf, size_t(n)));
    }
    return got;
}

void ServiceLog::feed(std::string_view bytes) {
    for (char b : bytes) {
        if (b == '\n') {
            add_line(partial_);
            partial_.clear();
        } else {
            partial_ += b;
            if (partial_.size() >= kMaxLine) cut_long_line();
        }
    }
}

// A line without end is cut at kMaxLine rather than kept growing; the cut
// falls between characters, the start of a split character waits for the
// next line.
void ServiceLog::cut_long_line() {
    size_t keep = utf8::incomplete_tail(partial_);
    add_line(std::string_view(partial_).substr(0, partial_.size() - keep));
    partial_.erase(0, partial_.size() - keep);
}

void ServiceLog::add_line(std::string_view text) {
    // Services write any bytes; what PID 1 keeps and serves is valid UTF-8.
    LogLine l{wall_now_ms(), utf8::sanitize(text)};
    ++total_;
    if (policy_.console && console_) console_->write(name_ + ": " + l.text + "\n");
    if (file_) to_file(format_wall(l.wall_ms) + " " + l.text + "\n");
    // In the ring before the followers hear of it, so that they can read it
    // there by sequence number.
    keep_in_ring(l);
    notify(l);
}

// The newest ringLines lines, as many as fit in kMaxRingBytes; the oldest go.
void ServiceLog::keep_in_ring(const LogLine& l) {
    lines_.push_back(l);
    ring_bytes_ += l.text.size();
    while (lines_.size() > size_t(policy_.ring_lines) || ring_bytes_ > kMaxRingBytes) {
        ring_bytes_ -= lines_.front().text.size();
        lines_.pop_front();
        ++dropped_;
    }
}

void ServiceLog::notify(const LogLine& l) {
    // A follower may unfollow itself (or another) while called: it is then
    // only marked, and erased here once its call is over.
    notifying_ = true;
    struct Busy {
        bool& b;
        ~Busy() { b = false; }
    } busy{notifying_};
    for (auto it = followers_.begin(); it != followers_.end();) {
        bool stay = !it->gone && it->fn(l) && !it->gone;
        it = stay ? std::next(it) : followers_.erase(it);
    }
}

ServiceLog::FollowerId ServiceLog::follow(Follower f) {
    if (!notifying_) followers_.remove_if([](const Following& x) { return x.gone; });
    followers_.push_back({next_follower_, std::move(f)});
    return next_follower_++;
}

void ServiceLog::unfollow(FollowerId id) {
    auto it = std::find_if(followers_.begin(), followers_.end(), [&](const Following& x) { return x.id == id; });
    if (it == followers_.end()) return;
    if (notifying_) it->gone = true;
    else followers_.erase(it);
}

const LogLine* ServiceLog::line(std::uint64_t seq) const {
    if (seq < first_seq() || seq >= total_) return nullptr;
    return &lines_[size_t(seq - first_seq())];
}

void ServiceLog::to_file(const std::string& formatted) {
    if (file_size_ + formatted.size() > policy_.max_size) rotate();
    if (!file_) return;
    ssize_t n = ::write(file_.get(), formatted.data(), formatted.size());
    if (n > 0) file_size_ += std::uint64_t(n);
}

std::string ServiceLog::rotated(int k) const { return path_ + "." + std::to_string(k); }

// How many of NAME.log.1, NAME.log.2, ... exist in a row, at most `keep`:
// rotation shifts only those, so its cost follows the files there, not keep.
int ServiceLog::rotated_present() const {
    int n = 0;
    while (n < policy_.keep && ::access(rotated(n + 1).c_str(), F_OK) == 0) ++n;
    return n;
}

// NAME.log.(k-1) -> NAME.log.k ... NAME.log -> NAME.log.1: renames within one
// tmpfs, no copying, nothing PID 1 could wait on. With all `keep` files there
// the oldest is replaced; a gap ends the chain (files past it are left alone).
void ServiceLog::rotate() {
    file_.reset();
    if (policy_.keep == 0) {
        ::unlink(path_.c_str());
    } else {
        for (int k = std::min(rotated_present() + 1, policy_.keep); k > 1; --k)
            ::rename(rotated(k - 1).c_str(), rotated(k).c_str());
        ::rename(path_.c_str(), rotated(1).c_str());
    }
    file_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NONBLOCK | O_CLOEXEC, 0640));
    file_size_ = 0;
}

}  // namespace berth::supervisor
