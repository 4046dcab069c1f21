// Per-process kernel settings: hostname, sysctl, rlimits, oom_score_adj.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/oci_spec.hpp"

namespace berth::runtime {

void set_hostname(const std::string& hostname, const std::string& domainname);

// "net.ipv4.ip_forward" -> "/proc/sys/net/ipv4/ip_forward".
std::string sysctl_path(const std::string& key);
void apply_sysctl(const std::map<std::string, std::string>& sysctl);

void apply_rlimits(const std::vector<oci::Rlimit>& rlimits);
void set_oom_score_adj(int value);

}  // namespace berth::runtime
