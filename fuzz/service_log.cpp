// The service log's line splitter: any bytes, in pieces of any size. Every
// kept line must be valid UTF-8, never contain a newline, and come from at most
// kMaxLine input bytes (each replaced byte grows to 3). The echo goes to a
// console that takes a varying number of bytes per write, often none: what it
// shows must be whole lines in their order (or the note about dropped ones),
// the queue must stay within its bound, and once the console takes
// everything, no line may be missing unless it was counted as dropped.
#include <errno.h>

#include "common/console_output.hpp"
#include "fuzz/rig.hpp"
#include "supervisor/service_log.hpp"

using namespace fuzzing;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
    static bool init = (quiet(), true);
    (void)init;
    std::string shown;
    std::uint32_t rng = 0x9e3779b9u ^ std::uint32_t(size);
    bool open_console = false;
    berth::ConsoleOutput::Io io;
    io.write = [&](int, const char* d, size_t n) -> ssize_t {
        rng = rng * 1103515245u + 12345u;
        size_t room = open_console ? n : (rng >> 16) % 3 == 0 ? 0 : (rng >> 8) % 600;
        if (room == 0) return -EAGAIN;
        n = std::min(n, room);
        shown.append(d, n);
        return ssize_t(n);
    };
    io.wait_writable = [](int, int) { return 1; };
    io.now_ms = [] { return std::int64_t(0); };
    constexpr size_t kLimit = 8192;
    berth::ConsoleOutput console(1, kLimit, io);
    berth::config::LogPolicy p;
    p.ring_lines = berth::config::LogPolicy::kMaxRingLines;
    ServiceLog log("fuzz", p, &console, "");
    std::string_view in(reinterpret_cast<const char*>(data), size);
    // The first byte picks the piece size, so that lines and characters are
    // split across reads in every way.
    size_t piece = size ? 1 + data[0] % 64 : 1;
    for (size_t at = 0; at < in.size(); at += piece) {
        log.feed(in.substr(at, piece));
        require(console.queued_bytes() <= kLimit + 1, "the console queue past its bound");
    }
    open_console = true;
    require(console.flush_for(1000), "the console queue did not empty");
    // What the console showed, without the note lines, is the ring's lines in
    // order with some left out; with none dropped, all of them.
    std::string expected, notes_removed;
    for (const auto& l : log.lines()) expected += "fuzz: " + l.text + "\n";
    for (size_t at = 0; at < shown.size();) {
        size_t end = shown.find('\n', at);
        require(end != std::string::npos, "a console line without its end");
        std::string_view line(shown.data() + at, end + 1 - at);
        if (line.rfind("berth: warning: the console could not keep up", 0) != 0) notes_removed += line;
        at = end + 1;
    }
    if (console.dropped_lines() == 0) require(notes_removed == expected, "a console line lost or changed");
    else require(notes_removed.size() < expected.size(), "dropped lines shown");
    size_t newlines = 0;
    for (char c : in) newlines += c == '\n';
    require(log.total() >= newlines, "a line lost");
    for (const auto& l : log.lines()) {
        require(berth::utf8::valid(l.text), "a log line that is not UTF-8");
        require(l.text.find('\n') == std::string::npos, "a newline inside a line");
        require(l.text.size() <= 3 * ServiceLog::kMaxLine, "a line longer than the cut");
    }
    // The UTF-8 helpers themselves, on the same bytes.
    std::string clean = berth::utf8::sanitize(in);
    require(berth::utf8::valid(clean), "sanitize gave invalid UTF-8");
    require(berth::utf8::sanitize(clean) == clean, "sanitize changed valid text");
    size_t cut = berth::utf8::cut(clean, size / 2);
    require(cut <= size / 2 + 0 || cut == clean.size(), "cut past the limit");
    require(berth::utf8::valid(std::string_view(clean).substr(0, cut)), "cut inside a character");
    return 0;
}
