#include "common/log.hpp"
#include "common/clock.hpp"
#include "common/console_output.hpp"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <string>

namespace berth::log {
namespace {
std::string g_program = "berth";
int g_fd = 2;
Level g_min = Level::info;
std::uint64_t g_start_ns = 0;
void (*g_tee)(std::string_view) = nullptr;
ConsoleOutput* g_console = nullptr;

std::uint64_t now_ns() { return clock::monotonic_ns(); }
}  // namespace

void set_program(std::string_view name) { g_program = name; }
void set_fd(int fd) { g_fd = fd; }
void set_tee(void (*tee)(std::string_view line)) { g_tee = tee; }
void set_min_level(Level level) { g_min = level; }
void set_console(ConsoleOutput* console) {
    // A child forked from PID 1 (a launch process, a helper) has a copy of the
    // queue and of the loop it would tell: its lines go straight to the fd,
    // so that it neither repeats PID 1's queued lines nor edits PID 1's epoll set.
    static bool once = (::pthread_atfork(nullptr, nullptr, [] { g_console = nullptr; }), true);
    (void)once;
    g_console = console;
}
void flush_console(int timeout_ms) {
    if (g_console) g_console->flush_for(timeout_ms);
}

void init_clock() {
    if (g_start_ns == 0) g_start_ns = now_ns();
}

std::uint64_t ms_since_start() {
    init_clock();
    return (now_ns() - g_start_ns) / 1000000ull;
}

void write_line(Level level, std::string_view text) {
    if (level < g_min) return;
    const char* tag = level == Level::error ? "ERROR: " : level == Level::warn ? "warning: " : "";
    std::string line;
    try {
        line = fmt::format("[{:6} ms] {}: {}{}\n", ms_since_start(), g_program, tag, text);
    } catch (...) {
        return;  // logging must never take the caller down
    }
    if (g_tee) g_tee(line);
    if (g_console) {
        g_console->write(line);
        return;
    }
    const char* p = line.data();
    size_t left = line.size();
    while (left > 0) {
        ssize_t n = ::write(g_fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        p += n;
        left -= size_t(n);
    }
}

}  // namespace berth::log
