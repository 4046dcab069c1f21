// Typed model of the OCI `linux.seccomp` object. Names (actions, operators,
// architectures, flags) are validated here against the spec's vocabulary;
// syscall names are resolved later by the runtime, which owns libseccomp and
// knows the architecture it runs on.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::oci {

enum class SeccompAction { kill_process, kill_thread, trap, errno_ret, trace, allow, log, notify };

enum class SeccompOp { ne, lt, le, eq, ge, gt, masked_eq };

struct SeccompArg {
    unsigned index = 0;  // 0..5
    std::uint64_t value = 0;
    std::uint64_t value_two = 0;  // the mask's compared value for masked_eq
    SeccompOp op = SeccompOp::eq;
    bool operator==(const SeccompArg&) const = default;
};

struct SeccompRule {
    std::vector<std::string> names;
    SeccompAction action = SeccompAction::allow;
    std::optional<std::uint32_t> errno_ret;  // errno for ERRNO, message for TRACE
    std::vector<SeccompArg> args;
    bool operator==(const SeccompRule&) const = default;
};

struct Seccomp {
    SeccompAction default_action = SeccompAction::allow;
    std::optional<std::uint32_t> default_errno_ret;
    std::vector<std::string> architectures;  // "SCMP_ARCH_X86_64", ...
    std::vector<std::string> flags;          // "SECCOMP_FILTER_FLAG_LOG", ...
    std::vector<SeccompRule> syscalls;
    bool operator==(const Seccomp&) const = default;
};

std::optional<SeccompAction> seccomp_action_from_name(std::string_view name);
std::string_view seccomp_action_name(SeccompAction a);
std::optional<SeccompOp> seccomp_op_from_name(std::string_view name);
std::string_view seccomp_op_name(SeccompOp o);
// The kernel flag bit for "SECCOMP_FILTER_FLAG_*" names berth can honour.
std::optional<unsigned> seccomp_flag_from_name(std::string_view name);
bool seccomp_arch_known(std::string_view name);

}  // namespace berth::oci
