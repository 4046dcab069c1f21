// Parser and validator for `linux.seccomp`. Every problem is recorded with its
// JSON path; nothing berth cannot enforce is accepted silently.
#include "config/oci_seccomp.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "config/json_reader.hpp"

namespace berth::oci {
namespace {

constexpr std::string_view kActions[] = {
    "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE",        "SCMP_ACT_ALLOW",       "SCMP_ACT_LOG",  "SCMP_ACT_NOTIFY"};

constexpr std::string_view kOps[] = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",       "SCMP_CMP_EQ",
                                     "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};

// The spec's list (config-linux.md); libseccomp resolves them at load time.
constexpr std::string_view kArches[] = {
    "SCMP_ARCH_X86",      "SCMP_ARCH_X86_64",      "SCMP_ARCH_X32",     "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",  "SCMP_ARCH_MIPS",        "SCMP_ARCH_MIPS64",  "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",   "SCMP_ARCH_MIPSEL64",    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",      "SCMP_ARCH_PPC64",       "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",    "SCMP_ARCH_PARISC",      "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64"};

struct FlagName {
    std::string_view name;
    unsigned bit;
};
// <linux/seccomp.h> values; NEW_LISTENER and TSYNC_ESRCH are the runtime's
// own business and not accepted from a config.
constexpr FlagName kFlags[] = {{"SECCOMP_FILTER_FLAG_TSYNC", 1u << 0},
                               {"SECCOMP_FILTER_FLAG_LOG", 1u << 1},
                               {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", 1u << 2},
                               {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 1u << 5}};

template <class E, size_t N>
std::optional<E> lookup(const std::string_view (&table)[N], std::string_view name) {
    for (size_t i = 0; i < N; ++i)
        if (table[i] == name) return E(i);
    return std::nullopt;
}

bool takes_errno(SeccompAction a) { return a == SeccompAction::errno_ret || a == SeccompAction::trace; }

}  // namespace

std::optional<SeccompAction> seccomp_action_from_name(std::string_view name) {
    // SCMP_ACT_KILL is the spec's older name for killing the thread.
    if (name == "SCMP_ACT_KILL") return SeccompAction::kill_thread;
    return lookup<SeccompAction>(kActions, name);
}

std::string_view seccomp_action_name(SeccompAction a) { return kActions[size_t(a)]; }

std::optional<SeccompOp> seccomp_op_from_name(std::string_view name) { return lookup<SeccompOp>(kOps, name); }

std::string_view seccomp_op_name(SeccompOp o) { return kOps[size_t(o)]; }

std::optional<unsigned> seccomp_flag_from_name(std::string_view name) {
    for (const auto& f : kFlags)
        if (f.name == name) return f.bit;
    return std::nullopt;
}

bool seccomp_arch_known(std::string_view name) {
    return std::find(std::begin(kArches), std::end(kArches), name) != std::end(kArches);
}

namespace detail {

namespace {

bool parse_action(Reader& r, const json& obj, const std::string& path, const char* key, SeccompAction& out) {
    std::string name;
    if (!field(r, obj, path, key, name, true)) return false;
    auto a = seccomp_action_from_name(name);
    if (!a) {
        r.problem(member_path(path, key), fmt::format("unknown seccomp action \"{}\"", name));
        return false;
    }
    if (*a == SeccompAction::notify) {
        r.problem(member_path(path, key), "SCMP_ACT_NOTIFY needs a seccomp listener, which berth does not support");
        return false;
    }
    out = *a;
    return true;
}

void check_errno(Reader& r, const std::string& path, SeccompAction a, const std::optional<std::uint32_t>& e) {
    if (e && !takes_errno(a))
        r.problem(path, fmt::format("only meaningful with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not {}",
                                    seccomp_action_name(a)));
}

}  // namespace

bool parse(Reader& r, const json& v, const std::string& path, SeccompArg& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    if (field(r, v, path, "index", out.index, true) && out.index > 5)
        r.problem(member_path(path, "index"), fmt::format("must be 0 to 5, got {}", out.index));
    field(r, v, path, "value", out.value, true);
    field(r, v, path, "valueTwo", out.value_two);
    std::string op;
    if (field(r, v, path, "op", op, true)) {
        if (auto o = seccomp_op_from_name(op))
            out.op = *o;
        else
            r.problem(member_path(path, "op"), fmt::format("unknown seccomp operator \"{}\"", op));
    }
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, SeccompRule& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    if (field(r, v, path, "names", out.names, true)) {
        if (out.names.empty()) r.problem(member_path(path, "names"), "must not be empty");
        for (size_t i = 0; i < out.names.size(); ++i)
            if (out.names[i].empty()) r.problem(index_path(member_path(path, "names"), i), "must not be empty");
    }
    bool action = parse_action(r, v, path, "action", out.action);
    field(r, v, path, "errnoRet", out.errno_ret);
    if (action) check_errno(r, member_path(path, "errnoRet"), out.action, out.errno_ret);
    field(r, v, path, "args", out.args);
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, Seccomp& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    bool action = parse_action(r, v, path, "defaultAction", out.default_action);
    field(r, v, path, "defaultErrnoRet", out.default_errno_ret);
    if (action) check_errno(r, member_path(path, "defaultErrnoRet"), out.default_action, out.default_errno_ret);
    if (field(r, v, path, "architectures", out.architectures))
        for (size_t i = 0; i < out.architectures.size(); ++i)
            if (!seccomp_arch_known(out.architectures[i]))
                r.problem(index_path(member_path(path, "architectures"), i),
                          fmt::format("unknown architecture \"{}\"", out.architectures[i]));
    if (field(r, v, path, "flags", out.flags))
        for (size_t i = 0; i < out.flags.size(); ++i)
            if (!seccomp_flag_from_name(out.flags[i]))
                r.problem(index_path(member_path(path, "flags"), i),
                          fmt::format("unsupported seccomp flag \"{}\"", out.flags[i]));
    for (const char* key : {"listenerPath", "listenerMetadata"})
        if (r.member(v, path, key, false))
            r.problem(member_path(path, key), "seccomp notification listeners are not supported by berth");
    field(r, v, path, "syscalls", out.syscalls);
    return true;
}

}  // namespace detail
}  // namespace berth::oci
