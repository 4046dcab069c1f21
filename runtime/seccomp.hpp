// Seccomp from the spec's `linux.seccomp`: the parent compiles the profile to
// classic BPF with libseccomp (before clone, so a bad profile fails the launch
// early and PID 1 could reuse the program); the child loads it with the raw
// seccomp(2) call at the moment crun does (see child.cpp).
#pragma once
#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

#include "config/oci_seccomp.hpp"

namespace berth::runtime {

struct SeccompProgram {
    std::vector<sock_filter> insns;
    unsigned flags = 0;                 // SECCOMP_FILTER_FLAG_* for seccomp(2)
    std::vector<std::string> skipped;   // syscall names this libseccomp does not know
};

// The libseccomp action value for a spec action and its errnoRet.
std::uint32_t seccomp_action_value(oci::SeccompAction a, const std::optional<std::uint32_t>& errno_ret);

// Native architecture plus every listed one; every rule with its conditions.
// Conditions that test the same argument twice become one rule per condition
// (an OR), as crun and runc do; rules whose action equals the default action
// are redundant and left out. Unknown syscall names go to `skipped`.
// Throws Error naming the rule on anything libseccomp rejects.
SeccompProgram compile_seccomp(const oci::Seccomp& s);

// seccomp(SECCOMP_SET_MODE_FILTER). Needs no_new_privs or CAP_SYS_ADMIN.
void load_seccomp(const SeccompProgram& p);

}  // namespace berth::runtime
