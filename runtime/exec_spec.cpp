#include "runtime/exec_spec.hpp"

#include <sys/stat.h>

#include <fmt/format.h>

#include "common/fs.hpp"
#include "runtime/cgroup.hpp"

namespace berth::runtime {

namespace {

constexpr oci::NamespaceType kAll[] = {oci::NamespaceType::user, oci::NamespaceType::cgroup,
                                       oci::NamespaceType::ipc,  oci::NamespaceType::uts,
                                       oci::NamespaceType::network, oci::NamespaceType::pid,
                                       oci::NamespaceType::time, oci::NamespaceType::mount};

const char* ns_file(oci::NamespaceType t) {
    switch (t) {
        case oci::NamespaceType::pid: return "pid";
        case oci::NamespaceType::network: return "net";
        case oci::NamespaceType::mount: return "mnt";
        case oci::NamespaceType::ipc: return "ipc";
        case oci::NamespaceType::uts: return "uts";
        case oci::NamespaceType::user: return "user";
        case oci::NamespaceType::cgroup: return "cgroup";
        case oci::NamespaceType::time: return "time";
    }
    return "";
}

// True when the target's namespace of this type is not the caller's (a kernel
// without the type has no file: nothing to join).
bool differs(pid_t target, oci::NamespaceType t) {
    struct stat theirs{}, ours{};
    if (::stat(fmt::format("/proc/{}/ns/{}", target, ns_file(t)).c_str(), &theirs) < 0) return false;
    if (::stat(fmt::format("/proc/self/ns/{}", ns_file(t)).c_str(), &ours) < 0) return true;
    return theirs.st_ino != ours.st_ino || theirs.st_dev != ours.st_dev;
}

}  // namespace

oci::Spec exec_spec(const oci::Spec& container, oci::Process process, pid_t target) {
    oci::Spec ex = container;
    ex.process = std::move(process);
    ex.mounts.clear();
    ex.hooks = {};
    ex.hostname.clear();
    ex.domainname.clear();
    oci::Linux& l = ex.linux_;
    for (auto t : kAll) {
        bool listed = l.find_namespace(t) != nullptr;
        if (!listed && differs(target, t)) l.namespaces.push_back({t, ""});
    }
    for (auto& ns : l.namespaces) ns.path = fmt::format("/proc/{}/ns/{}", target, ns_file(ns.type));
    l.uid_mappings.clear();
    l.gid_mappings.clear();
    l.sysctl.clear();
    l.masked_paths.clear();
    l.readonly_paths.clear();
    l.resources.reset();
    l.time_offsets.clear();
    l.mount_label.clear();
    return ex;
}

std::string cgroup_dir_of(pid_t pid) {
    auto rel = cgroup_path_in(fs::read_file(fmt::format("/proc/{}/cgroup", pid)), "");
    if (!rel) return {};
    return "/sys/fs/cgroup" + (*rel == "/" ? std::string() : *rel);
}

}  // namespace berth::runtime
