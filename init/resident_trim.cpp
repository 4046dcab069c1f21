#include "init/resident_trim.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <sstream>

#include "common/fs.hpp"
#include "common/log.hpp"

namespace berth::init {

std::vector<Range> clean_readonly_mappings(const std::string& smaps, const std::string& exe) {
    std::vector<Range> out;
    std::istringstream in(smaps);
    std::string line;
    bool candidate = false;
    Range current{};
    auto close_current = [&](bool clean) {
        if (candidate && clean) out.push_back(current);
        candidate = false;
    };
    while (std::getline(in, line)) {
        // A mapping header: "start-end perms offset dev inode path".
        unsigned long start = 0, end = 0;
        char perms[5] = {};
        int path_at = 0;
        if (std::sscanf(line.c_str(), "%lx-%lx %4s %*s %*s %*s %n", &start, &end, perms, &path_at) >= 3 &&
            path_at > 0 && line.find(':') > line.find(' ')) {
            candidate = perms[1] == '-' && line.compare(size_t(path_at), std::string::npos, exe) == 0;
            current = {start, end};
            continue;
        }
        // Pages copied on write (relocations written at start-up) must stay.
        if (candidate && line.rfind("Anonymous:", 0) == 0) close_current(std::strtol(line.c_str() + 10, nullptr, 10) == 0);
    }
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

}  // namespace berth::init
