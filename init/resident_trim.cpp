#include "init/resident_trim.hpp"

#include <malloc.h>

#include <cstdlib>
#include <string>

#include "common/fs.hpp"

namespace berth::init {

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
    long after = vm_rss_kb();
    return before >= 0 && after >= 0 && before > after ? before - after : 0;
}

}  // namespace berth::init
