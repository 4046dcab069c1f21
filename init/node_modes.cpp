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
    auto m = node_mode_for(subsystem, devname, groups_);
    return !m || apply(devname, *m);
}

bool NodeModes::apply(const std::string& devname, const NodeMode& m) {
    // A name from the kernel, but checked all the same: it stays below /dev.
    if (devname.empty() || devname[0] == '/' || devname.find("..") != std::string::npos) return true;
    const std::string path = dev_ + "/" + devname;
    int rc = sys_.set_node_owner_mode(path, 0, m.gid, m.mode);
    if (rc == 0) return true;
    log::warn("{}: mode {:o} group {}: {}", path, unsigned(m.mode), m.gid, std::strerror(-rc));
    return false;
}

namespace {

// "../../devices/virtual/tty/tty1" (a /sys/dev/char link) -> {"tty", "tty1"}:
// a class device with no parent sits in a directory named after its class.
bool virtual_class_device(std::string_view target, std::string& subsystem, std::string& name) {
    constexpr std::string_view kVirtual = "/devices/virtual/";
    auto at = target.find(kVirtual);
    if (at == std::string_view::npos) return false;
    std::string_view rest = target.substr(at + kVirtual.size());
    auto slash = rest.find('/');
    if (slash == std::string_view::npos || rest.find('/', slash + 1) != std::string_view::npos) return false;
    subsystem = rest.substr(0, slash);
    name = rest.substr(slash + 1);
    return !subsystem.empty() && !name.empty();
}

std::string devname_from_uevent(const std::string& uevent) {
    std::string name;
    for (std::size_t at = 0; at < uevent.size();) {
        std::size_t end = uevent.find('\n', at);
        if (end == std::string::npos) end = uevent.size();
        if (uevent.compare(at, 8, "DEVNAME=") == 0) name = uevent.substr(at + 8, end - at - 8);
        at = end + 1;
    }
    return name;
}

}  // namespace

NodeModes::Stats NodeModes::scan() {
    Stats st;
    for (const char* kind : {"char", "block"}) {
        const std::string dir = sys_root_ + "/dev/" + kind;
        auto entries = sys_.list_dir(dir);
        if (!entries) continue;
        for (const auto& e : *entries) {
            const std::string entry = dir + "/" + e;
            std::string subsystem = kind, name;  // "block"; a char device's is its class or bus
            // Most nodes are virtual ttys, vcs and mem devices: their link alone
            // gives class and name, one readlink instead of a uevent read and a
            // readlink (a tenth of the boot's way to the first container under TCG).
            if (subsystem == "char") {
                std::string sub, kernel_name;
                if (auto target = sys_.read_link(entry);
                    target && virtual_class_device(*target, sub, kernel_name) && config::devname_is_kernel_name(sub))
                    subsystem = std::move(sub), name = std::move(kernel_name);
            }
            if (name.empty()) {
                auto uevent = sys_.read_file(entry + "/uevent");
                if (!uevent) continue;
                name = devname_from_uevent(*uevent);
                if (subsystem == "char") {
                    auto link = sys_.read_link(entry + "/subsystem");
                    if (!link) continue;
                    subsystem = link->substr(link->rfind('/') + 1);
                }
            }
            auto mode = name.empty() ? std::nullopt : node_mode_for(subsystem, name, groups_);
            if (!mode) continue;
            if (apply(name, *mode)) st.set++;
            else st.failed++;
        }
    }
    return st;
}

}  // namespace berth::init
