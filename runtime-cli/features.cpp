// features: what this runtime supports, as the runtime-spec's features.md
// document, so an engine can check before it asks.
#include <seccomp.h>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "config/oci_names.hpp"
#include "runtime-cli/args.hpp"
#include "runtime-cli/commands.hpp"
#include "runtime/mount_options.hpp"

namespace berth::runc {

int cmd_features(const Context& c) {
    no_arguments(parse_args(c.argv, c.first, {}, false, "features"), "features");
    using nlohmann::json;
    json caps = json::array();
    for (int i = 0; i <= oci::capability_last(); ++i)
        if (!oci::capability_name(i).empty()) caps.push_back(std::string(oci::capability_name(i)));
    const scmp_version* v = seccomp_version();
    json j = {
        {"ociVersionMin", "1.0.0"},
        {"ociVersionMax", "1.2.0"},
        {"hooks", {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
        {"mountOptions", runtime::known_mount_options()},
        {"linux",
         {{"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}},
          {"capabilities", caps},
          {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", false}}},
          {"seccomp",
           {{"enabled", true},
            {"actions", {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                         "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"}},
            {"operators", {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                           "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"}},
            {"archs", {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64",
                       "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
                       "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64",
                       "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_X32", "SCMP_ARCH_X86",
                       "SCMP_ARCH_X86_64"}},
            {"knownFlags", {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                            "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}},
            {"supportedFlags", {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                "SECCOMP_FILTER_FLAG_SPEC_ALLOW"}}}},
          // Supported by the runtime; whether the running kernel enables the
          // LSM is checked at launch (an error naming the field when not).
          {"apparmor", {{"enabled", true}}},
          {"selinux", {{"enabled", true}}},
          {"intelRdt", {{"enabled", false}}},
          {"memoryPolicy",
           {{"modes", {"MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE", "MPOL_PREFERRED",
                       "MPOL_PREFERRED_MANY", "MPOL_LOCAL"}},
            {"flags", {"MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"}}}},
          {"mountExtensions", {{"idmap", {{"enabled", true}}}}}}},
        {"annotations",
         {{"dev.berth.runtime.version", BERTH_VERSION},  // its own, not a runc version
          {"io.github.seccomp.libseccomp.version",
           std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro)}}}};
    std::string out = j.dump(2) + "\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
}

}  // namespace berth::runc
