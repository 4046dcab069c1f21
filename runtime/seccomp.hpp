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

// libseccomp's name of an architecture ("x86_64", "aarch64"; the spec's
// "SCMP_ARCH_X86_64" is accepted too) to its token; throws Error if unknown.
std::uint32_t seccomp_arch_token(const std::string& name);
// libseccomp's name of the architecture this program runs on ("x86_64").
std::string seccomp_native_arch();
// The running libseccomp's version, "2.5.4".
std::string libseccomp_version();

// The SECCOMP_FILTER_FLAG_* bits the spec's `flags` ask for.
unsigned seccomp_filter_flags(const oci::Seccomp& s);

// `target_arch` (libseccomp's name; "" = the native one) plus every listed
// architecture; every rule with its conditions. For another target the result
// is what libseccomp gives on that target: the filter starts with the target
// in place of the native architecture, and syscall names resolve through
// libseccomp's tables of every architecture.
// Conditions that test the same argument twice become one rule per condition
// (an OR), as crun and runc do; rules whose action equals the default action
// are redundant and left out. Unknown syscall names go to `skipped`.
// Throws Error naming the rule on anything libseccomp rejects.
SeccompProgram compile_seccomp(const oci::Seccomp& s, const std::string& target_arch = "");

// seccomp(SECCOMP_SET_MODE_FILTER). Needs no_new_privs or CAP_SYS_ADMIN.
void load_seccomp(const SeccompProgram& p);

}  // namespace berth::runtime
