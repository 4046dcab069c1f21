// PID 1's resident set after boot. Almost all of it is the binary's own text
// (the kernel maps page-cache pages around each fault, 64 KiB at a time), and
// most of that text ran once: early boot, module loading, the hand-over copy.
// Unmapping the clean, read-only mappings of the executable lets the resident
// set shrink to what the event loop really touches; pages fault back in from
// the page cache when they are used again. The heap's free tail goes back too.
#pragma once
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace berth::init {

// Parses /proc/self/smaps text: the [start, end) ranges of mappings of `exe`
// that are not writable and hold no anonymous (copied-on-write) pages.
struct Range {
    unsigned long start, end;
};
std::vector<Range> clean_readonly_mappings(const std::string& smaps, const std::string& exe);

// Drops those mappings from the resident set and trims the heap. Returns the
// kB of resident set given back (VmRSS before - after); never throws.
long release_boot_memory();

// `berth.resident-trim=0` (or off, no) on the kernel command line keeps the
// pages: the benchmark compares the machine's memory in use both ways.
bool resident_trim_wanted(const std::map<std::string, std::string>& cmdline);

}  // namespace berth::init
