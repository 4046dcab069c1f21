#include "init/cgroup_setup.hpp"

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/text.hpp"

namespace berth::init {

std::string enable_cgroup_controllers(SysOps& sys, const std::string& dir) {
    auto avail = sys.read_file(fs::join(dir, "cgroup.controllers"));
    if (!avail) return "";
    std::string enabled;
    for (std::string_view c : text::words(*avail))
        if (sys.write_file(fs::join(dir, "cgroup.subtree_control"), "+" + std::string(c)) == 0)
            (enabled += " ") += c;
    log::info("cgroup controllers for {}:{}", dir, enabled.empty() ? " none" : enabled);
    return enabled.empty() ? "" : enabled.substr(1);
}

}  // namespace berth::init
