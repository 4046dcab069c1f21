#include "init/boot_log.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "config/update_bundle.hpp"
#include "init/ab_slots.hpp"
#include "init/boot_assessment.hpp"

namespace berth::init {

namespace {

constexpr std::string_view kMagic = "berth-boot-log 1\n";
constexpr std::uint64_t kAreaText = kBootLogAreaBytes - kBootLogHeaderBytes;

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

bool read_exact(int fd, char* buf, std::size_t n, off_t at) {
    while (n > 0) {
        ssize_t r = ::pread(fd, buf, n, at);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        buf += r, n -= std::size_t(r), at += r;
    }
    return true;
}

bool write_exact(int fd, const char* buf, std::size_t n, off_t at) {
    while (n > 0) {
        ssize_t r = ::pwrite(fd, buf, n, at);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        buf += r, n -= std::size_t(r), at += r;
    }
    return true;
}

std::string field(std::string_view head, std::string_view key) {
    std::string k = "\n" + std::string(key) + "=";
    auto at = head.find(k);
    if (at == std::string_view::npos) return {};
    at += k.size();
    auto nl = head.find('\n', at);
    return std::string(head.substr(at, nl == std::string_view::npos ? std::string_view::npos : nl - at));
}

// The header of area `i`: nullopt when it holds no log (blank, torn, foreign).
std::optional<BootLogArea> read_header(int fd, int i, std::uint64_t* bytes) {
    std::string head(kBootLogHeaderBytes, '\0');
    if (!read_exact(fd, head.data(), head.size(), off_t(i * kBootLogAreaBytes))) return std::nullopt;
    if (head.compare(0, kMagic.size(), kMagic) != 0) return std::nullopt;
    head.resize(head.find('\0') == std::string::npos ? head.size() : head.find('\0'));
    BootLogArea a;
    std::string gen = field("\n" + head, "gen"), len = field("\n" + head, "bytes");
    a.boot_id = field("\n" + head, "boot");
    if (gen.empty() || len.empty() || a.boot_id.empty()) return std::nullopt;
    char* end = nullptr;
    a.gen = std::strtoull(gen.c_str(), &end, 10);
    if (*end) return std::nullopt;
    *bytes = std::strtoull(len.c_str(), &end, 10);
    if (*end || *bytes > kAreaText) return std::nullopt;
    return a;
}

}  // namespace

void BootLogRing::add(std::string_view line) {
    try {
        text_.append(line);
        ++added_;
        if (text_.size() > kBootLogKeepBytes) {
            // Drop a quarter at a time, at a line's start, so that adding stays cheap.
            auto cut = text_.find('\n', text_.size() - kBootLogKeepBytes * 3 / 4);
            text_.erase(0, cut == std::string::npos ? text_.size() : cut + 1);
        }
    } catch (...) {
        // Out of memory: the console still has the line.
    }
}

BootLogRing& boot_log_ring() {
    static BootLogRing ring;
    return ring;
}

void keep_boot_log() {
    log::set_tee([](std::string_view line) { boot_log_ring().add(line); });
}

std::string write_boot_log(const std::string& dev, const std::string& boot_id, std::string_view text) {
    fs::Fd fd(::open(dev.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd) return errno_text("open " + dev);
    std::uint64_t unused;
    std::optional<BootLogArea> areas[2] = {read_header(fd.get(), 0, &unused), read_header(fd.get(), 1, &unused)};
    int target = -1;
    std::uint64_t gen = 1;
    for (int i = 0; i < 2; ++i)
        if (areas[i] && areas[i]->boot_id == boot_id) target = i, gen = areas[i]->gen;
    if (target < 0) {
        // Overwrite the blank or older area; the newer one is the previous boot's.
        target = !areas[0] ? 0 : !areas[1] ? 1 : areas[0]->gen <= areas[1]->gen ? 0 : 1;
        for (const auto& a : areas)
            if (a && a->gen >= gen) gen = a->gen + 1;
    }
    if (text.size() > kAreaText) text = text.substr(text.size() - kAreaText);
    off_t at = off_t(target * kBootLogAreaBytes);
    std::string head = std::string(kMagic) + "gen=" + std::to_string(gen) + "\nboot=" + boot_id +
                       "\nbytes=" + std::to_string(text.size()) + "\n";
    head.resize(kBootLogHeaderBytes, '\0');
    // The text first, the header that makes it count last.
    if (!write_exact(fd.get(), text.data(), text.size(), at + off_t(kBootLogHeaderBytes)) || ::fdatasync(fd.get()) < 0)
        return errno_text("write the log text to " + dev);
    if (!write_exact(fd.get(), head.data(), head.size(), at) || ::fdatasync(fd.get()) < 0)
        return errno_text("write the log header to " + dev);
    return {};
}

std::optional<BootLogArea> read_previous_boot_log(const std::string& dev, const std::string& boot_id,
                                                  std::string* error) {
    error->clear();
    fs::Fd fd(::open(dev.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return *error = errno_text("open " + dev), std::nullopt;
    std::optional<BootLogArea> best;
    std::uint64_t best_bytes = 0;
    int best_i = -1;
    for (int i = 0; i < 2; ++i) {
        std::uint64_t bytes = 0;
        auto a = read_header(fd.get(), i, &bytes);
        if (!a || a->boot_id == boot_id || (best && best->gen >= a->gen)) continue;
        best = std::move(a), best_bytes = bytes, best_i = i;
    }
    if (!best) return std::nullopt;
    best->text.resize(best_bytes);
    if (!read_exact(fd.get(), best->text.data(), best_bytes, off_t(best_i * kBootLogAreaBytes + kBootLogHeaderBytes)))
        return *error = errno_text("read the log text from " + dev), std::nullopt;
    return best;
}

std::string current_boot_id(SysOps& sys) {
    auto id = sys.read_file("/proc/sys/kernel/random/boot_id");
    if (!id) return {};
    while (!id->empty() && (id->back() == '\n' || id->back() == ' ')) id->pop_back();
    return *id;
}

BootLogWriter::BootLogWriter(supervisor::EventLoop& loop, SysOps& sys, std::string boot_id, Spawn spawn)
    : loop_(loop), sys_(sys), boot_id_(std::move(boot_id)), spawn_(spawn ? std::move(spawn) : Spawn(fork_and_run)) {}

void BootLogWriter::start() {
    write_now();
    loop_.add_timer(kWriteEveryMs, [this] { every_interval(); });
}

void BootLogWriter::every_interval() {
    if (disabled_) return;
    write_now();
    loop_.add_timer(kWriteEveryMs, [this] { every_interval(); });
}

void BootLogWriter::write_now() {
    if (disabled_ || child_ > 0) return;
    std::uint64_t lines = boot_log_ring().added();
    if (lines == written_) return;
    SysOps* sys = &sys_;
    std::string id = boot_id_;
    // The child has its own copy of the ring (fork), so PID 1 goes on logging meanwhile.
    pid_t pid = spawn_([sys, id] {
        std::string dev = find_partition_by_name(*sys, update::kBootLogPartName);
        if (dev.empty()) return kNoPartition;
        std::string err = write_boot_log(dev, id, boot_log_ring().text());
        if (!err.empty()) {
            log::error("boot log: {}", err);
            return 1;
        }
        return 0;
    });
    if (pid < 0) {
        log::error("boot log: fork: {}", std::strerror(int(-pid)));
        return;
    }
    child_ = pid, writing_ = lines;
}

bool BootLogWriter::child_exited(pid_t pid, int code, int status) {
    if (pid != child_ || child_ < 0) return false;
    child_ = -1;
    if (code == CLD_EXITED && status == 0) {
        written_ = writing_;
    } else if (code == CLD_EXITED && status == kNoPartition) {
        log::warn("boot log: no partition named {}; this boot's log is not kept", update::kBootLogPartName);
        disabled_ = true;
    }
    return true;
}

void BootLogWriter::final_write(int timeout_ms) {
    std::int64_t deadline = sys_.now_ms() + timeout_ms;
    // A write already under way has not got the last lines: wait for it, then write again.
    for (bool again = true; !disabled_;) {
        if (child_ < 0) {
            if (!again) return;
            again = false;
            write_now();
            if (child_ < 0) return;
        }
        pid_t pid;
        int code, status, r;
        while ((r = sys_.reap_one(pid, code, status)) == 1) child_exited(pid, code, status);
        if (r == -ECHILD) child_ = -1;
        if (child_ < 0) continue;
        if (sys_.now_ms() >= deadline) {
            log::warn("boot log: the last write has not finished in {} ms; not waiting longer", timeout_ms);
            return;
        }
        sys_.sleep_ms(20);
    }
}

}  // namespace berth::init
