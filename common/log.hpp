// Console logging with milliseconds since the process started (for PID 1: since
// /init started). Writes are single write(2) calls of whole lines so that lines
// from several processes do not interleave.
#pragma once
#include <cstdint>
#include <string_view>

#include <fmt/format.h>

namespace berth {
class ConsoleOutput;
}

namespace berth::log {

enum class Level { debug, info, warn, error };

void set_program(std::string_view name);      // "berth" by default
void set_fd(int fd);                          // 2 by default
void set_min_level(Level level);
std::uint64_t ms_since_start();               // CLOCK_MONOTONIC, from first call of init_clock()
void init_clock();
void write_line(Level level, std::string_view text);
// Also hands every line written (formatted, with its newline) to `tee`; PID 1
// keeps them for the log of this boot (init/boot_log.hpp). nullptr: none.
void set_tee(void (*tee)(std::string_view line));
// PID 1: lines go through its console queue (common/console_output.hpp)
// instead of straight to the fd, so that a full console delays them rather
// than losing them. nullptr: straight to the fd again. Children forked
// afterwards write straight to the fd.
void set_console(ConsoleOutput* console);
// Before reboot(2) or a rescue shell: waits at most `timeout_ms` for the
// console to take what is queued.
void flush_console(int timeout_ms);

template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... a) {
    write_line(Level::info, fmt::format(f, std::forward<Args>(a)...));
}
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... a) {
    write_line(Level::warn, fmt::format(f, std::forward<Args>(a)...));
}
template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... a) {
    write_line(Level::error, fmt::format(f, std::forward<Args>(a)...));
}
template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... a) {
    write_line(Level::debug, fmt::format(f, std::forward<Args>(a)...));
}

}  // namespace berth::log
