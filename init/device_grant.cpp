#include "init/device_grant.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "common/error.hpp"
#include "common/log.hpp"
#include "init/container_launcher.hpp"
#include "runtime/dev_nodes.hpp"
#include "runtime/device_filter.hpp"

namespace berth::init {
namespace {

// The device program: the spec's rules, its own nodes and the granted devices.
// A container launched without a device program (no linux.resources.devices)
// is left without one: nothing was denied to it.
void update_device_program(const DeviceGrantJob& job) {
    if (job.cgroup.empty()) return;
    oci::Spec spec = load_config_limited(job.bundle, kConfigMaxBytes);
    if (!spec.linux_.resources || spec.linux_.resources->devices.empty()) return;
    std::vector<oci::Device> nodes = spec.linux_.devices;
    nodes.insert(nodes.end(), job.wanted.begin(), job.wanted.end());
    runtime::replace_device_filter(job.cgroup, runtime::device_rules_with_defaults(spec.linux_.resources->devices, nodes));
}

bool same_mount_namespace(pid_t pid) {
    struct stat ours {}, theirs {};
    std::string path = "/proc/" + std::to_string(pid) + "/ns/mnt";
    if (::stat("/proc/self/ns/mnt", &ours) < 0 || ::stat(path.c_str(), &theirs) < 0) return false;
    return ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino;
}

void update_nodes(const DeviceGrantJob& job) {
    // A container in PID 1's own mount namespace sees devtmpfs's nodes already.
    if (same_mount_namespace(job.pid)) return;
    if (::setns(job.pidfd, CLONE_NEWNS) < 0) throw_errno("enter the mount namespace of pid " + std::to_string(job.pid));
    if (::chdir("/") < 0) throw_errno("chdir / in the container");
    for (const auto& path : job.remove)
        if (::unlink(path.c_str()) < 0 && errno != ENOENT) throw_errno("remove " + path);
    runtime::create_device_nodes("/", job.add, false);
}

[[noreturn]] void run(const DeviceGrantJob& job) {
    ::prctl(PR_SET_NAME, "berth-devices");
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // PID 1's other descriptors (control connections, pipes) are not held.
    int keep = job.pidfd;
    if (keep > 3) ::syscall(SYS_close_range, 3U, unsigned(keep) - 1, 0U);
    ::syscall(SYS_close_range, unsigned(std::max(keep, 2)) + 1, ~0U, 0U);
    int rc = 0;
    // The program first: config.json and the cgroup are paths of PID 1's mount
    // namespace, which the node step leaves.
    try {
        update_device_program(job);
        update_nodes(job);
        log::info("container {}: devices: {} node(s) made, {} removed, {} allowed", job.container, job.add.size(),
                  job.remove.size(), job.wanted.size());
    } catch (const std::exception& e) {
        log::error("container {}: devices: {}", job.container, e.what());
        rc = 1;
    } catch (...) {
        log::error("container {}: devices: unknown failure in the helper", job.container);
        rc = 1;
    }
    ::_exit(rc);
}

}  // namespace

pid_t spawn_device_grant(const DeviceGrantJob& job) {
    pid_t pid = ::fork();
    if (pid < 0) return -errno;
    if (pid == 0) run(job);
    return pid;
}

}  // namespace berth::init
