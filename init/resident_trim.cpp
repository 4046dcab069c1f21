#include "init/resident_trim.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <charconv>
#include <climits>
#include <cstring>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/text.hpp"

namespace berth::init {

namespace {
// A mapping header of smaps: "start-end perms offset dev inode [path]". Other
// lines ("Rss:     4 kB") have their ':' before the first space.
bool parse_mapping_header(std::string_view line, Range& range, std::string_view& perms, std::string_view& path) {
    if (line.find(':') < line.find(' ')) return false;
    auto fields = text::words(line);
    if (fields.size() < 5) return false;
    std::string_view bounds = fields[0];
    size_t dash = bounds.find('-');
    if (dash == std::string_view::npos) return false;
    auto hex = [](std::string_view s, unsigned long& out) {
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
        return ec == std::errc() && p == s.data() + s.size();
    };
    if (!hex(bounds.substr(0, dash), range.start) || !hex(bounds.substr(dash + 1), range.end)) return false;
    perms = fields[1];
    // The path is the rest of the line after the inode (it may hold spaces).
    path = fields.size() > 5 ? line.substr(size_t(fields[5].data() - line.data())) : std::string_view();
    return true;
}
}  // namespace

std::vector<Range> clean_readonly_mappings(const std::string& smaps, const std::string& exe) {
    std::vector<Range> out;
    bool candidate = false;
    Range current{};
    auto close_current = [&](bool clean) {
        if (candidate && clean) out.push_back(current);
        candidate = false;
    };
    text::for_each_line(smaps, [&](std::string_view line) {
        Range range{};
        std::string_view perms, path;
        if (parse_mapping_header(line, range, perms, path)) {
            candidate = perms.size() > 1 && perms[1] == '-' && path == exe;
            current = range;
            return;
        }
        // Pages copied on write (relocations written at start-up) must stay.
        if (candidate && line.rfind("Anonymous:", 0) == 0)
            close_current(std::strtol(std::string(line.substr(10)).c_str(), nullptr, 10) == 0);
    });
    return out;
}

namespace {
long vm_rss_kb() {
    auto status = fs::try_read_file("/proc/self/status").value_or("");
    auto at = status.find("VmRSS:");
    return at == std::string::npos ? -1 : std::strtol(status.c_str() + at + 6, nullptr, 10);
}
}  // namespace

long release_boot_memory() {
    long before = vm_rss_kb();
    ::malloc_trim(0);
    char exe[PATH_MAX] = {};
    ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    auto smaps = fs::try_read_file("/proc/self/smaps");
    if (n > 0 && smaps) {
        for (const Range& r : clean_readonly_mappings(*smaps, std::string(exe, size_t(n))))
            if (::madvise(reinterpret_cast<void*>(r.start), r.end - r.start, MADV_DONTNEED) < 0)
                log::warn("release boot memory: madvise {:x}-{:x}: {}", r.start, r.end, std::strerror(errno));
    }
    long after = vm_rss_kb();
    return before >= 0 && after >= 0 ? before - after : 0;
}

bool resident_trim_wanted(const std::map<std::string, std::string>& cmdline) {
    auto it = cmdline.find("berth.resident-trim");
    if (it == cmdline.end()) return true;
    return it->second != "0" && it->second != "off" && it->second != "no";
}

}  // namespace berth::init
