#include "runtime/mount_options.hpp"

#include <sys/mount.h>

#include <string_view>

namespace berth::runtime {
namespace {

struct Flag {
    std::string_view name;
    bool clear;  // "rw", "suid", ... remove a flag set earlier
    unsigned long flag;
};

constexpr unsigned long kAtimeMask = MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;

constexpr Flag kFlags[] = {
    {"defaults", false, 0},
    {"ro", false, MS_RDONLY},           {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},       {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},         {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},       {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},       {"nomand", true, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},     {"atime", true, MS_NOATIME},
    {"nodiratime", false, MS_NODIRATIME}, {"diratime", true, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},   {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME}, {"nostrictatime", true, MS_STRICTATIME},
    {"silent", false, MS_SILENT},       {"loud", true, MS_SILENT},
    {"iversion", false, MS_I_VERSION},  {"noiversion", true, MS_I_VERSION},
    {"lazytime", false, MS_LAZYTIME},   {"nolazytime", true, MS_LAZYTIME},
    {"bind", false, MS_BIND},           {"rbind", false, MS_BIND | MS_REC},
};

constexpr std::pair<std::string_view, unsigned long> kPropagation[] = {
    {"private", MS_PRIVATE},           {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},             {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},               {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE},     {"runbindable", MS_UNBINDABLE | MS_REC},
};

// Options that runc/crun define but berth does not implement; they must not
// reach the filesystem as data, where they would make mount(2) fail.
constexpr std::string_view kIgnored[] = {"tmpcopyup", "notmpcopyup"};

}  // namespace

std::vector<std::string> known_mount_options() {
    std::vector<std::string> out;
    for (const auto& f : kFlags) out.emplace_back(f.name);
    for (const auto& p : kPropagation) out.emplace_back(p.first);
    out.emplace_back("idmap");
    out.emplace_back("ridmap");
    return out;
}

bool MountOptions::is_bind() const { return (flags & MS_BIND) != 0; }

MountOptions parse_mount_options(const std::vector<std::string>& options) {
    MountOptions out;
    for (const auto& opt : options) {
        bool known = false;
        for (const auto& f : kFlags) {
            if (f.name != opt) continue;
            known = true;
            if (f.flag & kAtimeMask) out.atime_set = true;
            if (f.clear)
                out.flags &= ~f.flag;
            else
                out.flags |= f.flag;
        }
        for (const auto& [name, flag] : kPropagation) {
            if (name != opt) continue;
            known = true;
            out.propagation = flag;
        }
        for (auto name : kIgnored) known = known || name == opt;
        // Handled by the idmapped-mount code (config/oci_idmap.cpp), never mount data.
        known = known || opt == "idmap" || opt == "ridmap" || opt.rfind("idmap=", 0) == 0 ||
                opt.rfind("ridmap=", 0) == 0;
        if (known || opt.empty()) continue;
        if (!out.data.empty()) out.data += ',';
        out.data += opt;
    }
    return out;
}

unsigned long propagation_flags(const std::string& name) {
    if (name.empty()) return MS_PRIVATE | MS_REC;
    for (const auto& [n, flag] : kPropagation)
        if (n == name) return flag;
    return 0;
}

}  // namespace berth::runtime
