// The service log's line splitter: any bytes, in pieces of any size. Every
// kept line must be valid UTF-8, never contain a newline, and come from at most
// kMaxLine input bytes (each replaced byte grows to 3).
#include "fuzz/rig.hpp"
#include "supervisor/service_log.hpp"

using namespace fuzzing;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
    static bool init = (quiet(), true);
    (void)init;
    berth::config::LogPolicy p;
    p.console = false;
    p.ring_lines = 100000;
    ServiceLog log("fuzz", p, -1, "");
    std::string_view in(reinterpret_cast<const char*>(data), size);
    // The first byte picks the piece size, so that lines and characters are
    // split across reads in every way.
    size_t piece = size ? 1 + data[0] % 64 : 1;
    for (size_t at = 0; at < in.size(); at += piece) log.feed(in.substr(at, piece));
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
