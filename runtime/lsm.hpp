// The LSM fields: process.apparmorProfile, process.selinuxLabel and
// linux.mountLabel, applied as crun does. A field set for an LSM the running
// kernel does not enable is an error naming the field, never ignored.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "common/fs.hpp"
#include "config/oci_spec.hpp"

namespace berth::runtime {

// Whether the running kernel enables the LSM ("apparmor", "selinux"): listed
// in /sys/kernel/security/lsm (when securityfs is mounted), and for AppArmor
// /sys/module/apparmor/parameters/enabled is Y; for SELinux without securityfs,
// selinuxfs is mounted.
bool lsm_enabled(std::string_view name);

// Parent side, before anything is created: `field` is "process.apparmorProfile",
// "process.selinuxLabel" or "linux.mountLabel". Nothing to check when `value`
// is empty; throws Error (ENOTSUP) naming the field otherwise, e.g.
// "process.apparmorProfile: AppArmor is not enabled on this kernel".
void check_lsm_field(std::string_view field, const std::string& value);

// Child side: the exec-time labels. open() runs before pivot_root, through the
// host's /proc (the container may have no /proc of its own); apply() right
// before execve: the kernel switches to the profile or label at execve.
class ExecLabels {
public:
    // The files get fds at or above `min_fd` (above the ones a container
    // inherits), to be kept open until apply(): see fds().
    void open(const oci::Process& p, int min_fd = 3);
    void apply();
    std::vector<int> fds() const;

private:
    fs::Fd apparmor_, selinux_;
    std::string profile_, label_;
};

}  // namespace berth::runtime
