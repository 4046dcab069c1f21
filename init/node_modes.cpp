#include "init/node_modes.hpp"

#include <cstring>

#include "common/log.hpp"
#include "config/device_modes.hpp"
#include "init/module_index.hpp"

namespace berth::init {

std::optional<NodeMode> node_mode_for(const std::string& subsystem, const std::string& devname,
                                      const GroupIds& groups) {
    const std::string key = subsystem + ":" + devname;
    for (const auto& rule : config::device_mode_rules()) {
        if (!glob_match(rule.match, key)) continue;
        NodeMode m{rule.mode, 0};
        if (*rule.group) {
            if (auto it = groups.find(rule.group); it != groups.end()) m.gid = it->second;
            else if (auto fixed = config::debian_fixed_gid(rule.group)) m.gid = *fixed;
        }
        return m;
    }
    return std::nullopt;
}

bool NodeModes::machine_init(SysOps& sys) { return sys.read_file("/proc/2/comm").value_or("") == "kthreadd\n"; }

bool NodeModes::added(const std::string& subsystem, const std::string& devname) {
    // A name from the kernel, but checked all the same: it stays below /dev.
    if (devname.empty() || devname[0] == '/' || devname.find("..") != std::string::npos) return true;
    auto m = node_mode_for(subsystem, devname, groups_);
    if (!m) return true;
    const std::string path = dev_ + "/" + devname;
    int rc = sys_.set_node_owner_mode(path, 0, m->gid, m->mode);
    if (rc == 0) return true;
    log::warn("{}: mode {:o} group {}: {}", path, unsigned(m->mode), m->gid, std::strerror(-rc));
    return false;
}

NodeModes::Stats NodeModes::scan() {
    Stats st;
    for (const char* kind : {"char", "block"}) {
        const std::string dir = sys_root_ + "/dev/" + kind;
        auto entries = sys_.list_dir(dir);
        if (!entries) continue;
        for (const auto& e : *entries) {
            auto uevent = sys_.read_file(dir + "/" + e + "/uevent");
            if (!uevent) continue;
            std::string name;
            for (std::size_t at = 0; at < uevent->size();) {
                std::size_t end = uevent->find('\n', at);
                if (end == std::string::npos) end = uevent->size();
                if (uevent->compare(at, 8, "DEVNAME=") == 0) name = uevent->substr(at + 8, end - at - 8);
                at = end + 1;
            }
            std::string subsystem = kind;  // "block"; a char device's is its class or bus
            if (subsystem == "char") {
                auto link = sys_.read_link(dir + "/" + e + "/subsystem");
                if (!link) continue;
                subsystem = link->substr(link->rfind('/') + 1);
            }
            if (name.empty() || !node_mode_for(subsystem, name, groups_)) continue;
            if (added(subsystem, name)) st.set++;
            else st.failed++;
        }
    }
    return st;
}

}  // namespace berth::init
