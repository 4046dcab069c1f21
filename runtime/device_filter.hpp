// The device allow/deny list of linux.resources.devices on cgroup v2: a
// BPF_PROG_TYPE_CGROUP_DEVICE program, as runc and crun attach, written as raw
// eBPF instructions (no libbpf). Rules are matched last to first, the first
// match decides, nothing matched = denied. An allow rule matches a request whose
// access is within the rule's; a deny rule one that shares any access with it.
// runc's default set (mknod of any node; null, zero, full, random, urandom,
// tty, console, ptmx, pts and /dev/net/tun) stays allowed after the spec's
// rules, as runc and crun append theirs.
#pragma once
#include <linux/bpf.h>

#include <string>
#include <vector>

#include "config/oci_spec.hpp"

namespace berth::runtime {

// The spec's rules followed by the default device set and an allow rule for
// each node of linux.devices (which runc and crun allow implicitly).
std::vector<oci::DeviceRule> device_rules_with_defaults(const std::vector<oci::DeviceRule>& spec_rules,
                                                        const std::vector<oci::Device>& nodes = {});

std::vector<bpf_insn> device_filter_program(const std::vector<oci::DeviceRule>& rules);

// Loads the program and attaches it to the cgroup directory (BPF_F_ALLOW_MULTI).
void attach_device_filter(const std::string& cgroup_dir, const std::vector<oci::DeviceRule>& rules);

// A new program for a cgroup whose container runs: it takes the place of the
// one berth attached before in one step (BPF_F_REPLACE), or is attached when
// there was none. Returns true when it replaced one.
bool replace_device_filter(const std::string& cgroup_dir, const std::vector<oci::DeviceRule>& rules);

}  // namespace berth::runtime
