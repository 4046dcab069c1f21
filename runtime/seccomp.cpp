#include "runtime/seccomp.hpp"

#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <seccomp.h>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::runtime {
namespace {

using Ctx = std::unique_ptr<void, void (*)(scmp_filter_ctx)>;

[[noreturn]] void fail(const std::string& what, int rc) { throw_errno(what, rc < 0 ? -rc : EINVAL); }

// libseccomp's architecture names, the spec's SCMP_ARCH_* without the prefix.
constexpr const char* kArchNames[] = {"x86",     "x86_64",   "x32",    "arm",         "aarch64", "mips",
                                      "mips64",  "mips64n32", "mipsel", "mipsel64",    "mipsel64n32",
                                      "ppc",     "ppc64",    "ppc64le", "s390",        "s390x",   "parisc",
                                      "parisc64", "riscv64"};

scmp_arg_cmp to_cmp(const oci::SeccompArg& a) {
    // SeccompOp lists the operators in libseccomp's order, from SCMP_CMP_NE = 1.
    return scmp_arg_cmp{a.index, scmp_compare(int(a.op) + 1), a.value, a.value_two};
}

bool same_argument_twice(const std::vector<oci::SeccompArg>& args) {
    for (size_t i = 0; i < args.size(); ++i)
        for (size_t j = i + 1; j < args.size(); ++j)
            if (args[i].index == args[j].index) return true;
    return false;
}

void add_rule(scmp_filter_ctx ctx, std::uint32_t action, int nr, const std::vector<scmp_arg_cmp>& cmps,
              const std::string& what) {
    int rc = seccomp_rule_add_array(ctx, action, nr, unsigned(cmps.size()), cmps.empty() ? nullptr : cmps.data());
    if (rc < 0) fail(what, rc);
}

std::vector<sock_filter> export_bpf(scmp_filter_ctx ctx) {
    fs::Fd fd(::memfd_create("berth-seccomp", MFD_CLOEXEC));
    if (!fd) throw_errno("memfd_create");
    if (int rc = seccomp_export_bpf(ctx, fd.get()); rc < 0) fail("export the filter", rc);
    off_t size = ::lseek(fd.get(), 0, SEEK_END);
    if (size < 0) throw_errno("seek the exported filter");
    std::vector<sock_filter> insns(size_t(size) / sizeof(sock_filter));
    ssize_t n = ::pread(fd.get(), insns.data(), insns.size() * sizeof(sock_filter), 0);
    if (n != ssize_t(insns.size() * sizeof(sock_filter))) throw_errno("read the exported filter");
    return insns;
}

}  // namespace

std::uint32_t seccomp_arch_token(const std::string& name) {
    std::string n = name.rfind("SCMP_ARCH_", 0) == 0 ? name.substr(10) : name;
    for (char& c : n) c = char(std::tolower(static_cast<unsigned char>(c)));
    std::uint32_t t = seccomp_arch_resolve_name(n.c_str());
    if (t == 0) throw Error(fmt::format("architecture `{}` unknown to libseccomp", name), EINVAL);
    return t;
}

std::string seccomp_native_arch() {
    const std::uint32_t native = seccomp_arch_native();
    for (const char* n : kArchNames)
        if (seccomp_arch_resolve_name(n) == native) return n;
    return fmt::format("token-{:#x}", native);
}

std::string libseccomp_version() {
    const scmp_version* v = seccomp_version();
    return fmt::format("{}.{}.{}", v->major, v->minor, v->micro);
}

unsigned seccomp_filter_flags(const oci::Seccomp& s) {
    unsigned flags = 0;
    for (const auto& f : s.flags) flags |= oci::seccomp_flag_from_name(f).value_or(0);
    return flags;
}

std::uint32_t seccomp_action_value(oci::SeccompAction a, const std::optional<std::uint32_t>& errno_ret) {
    switch (a) {
        case oci::SeccompAction::kill_process: return SCMP_ACT_KILL_PROCESS;
        case oci::SeccompAction::kill_thread: return SCMP_ACT_KILL_THREAD;
        case oci::SeccompAction::trap: return SCMP_ACT_TRAP;
        case oci::SeccompAction::errno_ret: return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
        case oci::SeccompAction::trace: return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
        case oci::SeccompAction::allow: return SCMP_ACT_ALLOW;
        case oci::SeccompAction::log: return SCMP_ACT_LOG;
        case oci::SeccompAction::notify: return SCMP_ACT_NOTIFY;
    }
    return SCMP_ACT_KILL_PROCESS;
}

SeccompProgram compile_seccomp(const oci::Seccomp& s, const std::string& target_arch) {
    const std::uint32_t def = seccomp_action_value(s.default_action, s.default_errno_ret);
    Ctx ctx(seccomp_init(def), seccomp_release);
    if (!ctx) throw Error("seccomp_init: cannot create a filter", ENOMEM);

    // seccomp_init already holds the native architecture; another target takes
    // its place first, so the listed ones follow it in the same order as on
    // the target itself.
    if (!target_arch.empty()) {
        const std::uint32_t native = seccomp_arch_native(), target = seccomp_arch_token(target_arch);
        if (target != native) {
            if (int rc = seccomp_arch_add(ctx.get(), target); rc < 0)
                fail(fmt::format("add target architecture `{}`", target_arch), rc);
            if (int rc = seccomp_arch_remove(ctx.get(), native); rc < 0) fail("remove the native architecture", rc);
        }
    }
    for (const auto& name : s.architectures) {
        int rc = seccomp_arch_add(ctx.get(), seccomp_arch_token(name));
        if (rc < 0 && rc != -EEXIST) fail(fmt::format("add architecture `{}`", name), rc);
    }

    SeccompProgram out;
    out.flags = seccomp_filter_flags(s);

    for (size_t i = 0; i < s.syscalls.size(); ++i) {
        const oci::SeccompRule& rule = s.syscalls[i];
        const std::uint32_t action = seccomp_action_value(rule.action, rule.errno_ret);
        if (action == def) continue;  // libseccomp refuses it, and it changes nothing
        std::vector<scmp_arg_cmp> cmps;
        for (const auto& a : rule.args) cmps.push_back(to_cmp(a));
        const bool split = same_argument_twice(rule.args);
        for (const auto& name : rule.names) {
            int nr = seccomp_syscall_resolve_name(name.c_str());
            if (nr == __NR_SCMP_ERROR) {
                out.skipped.push_back(name);
                continue;
            }
            std::string what = fmt::format("linux.seccomp.syscalls[{}]: `{}`", i, name);
            if (!split) {
                add_rule(ctx.get(), action, nr, cmps, what);
                continue;
            }
            for (const auto& c : cmps) add_rule(ctx.get(), action, nr, {c}, what);
        }
    }
    out.insns = export_bpf(ctx.get());
    return out;
}

void load_seccomp(const SeccompProgram& p) {
    sock_fprog prog{};
    prog.len = static_cast<unsigned short>(p.insns.size());
    prog.filter = const_cast<sock_filter*>(p.insns.data());
    if (p.insns.size() > BPF_MAXINSNS)
        throw Error(fmt::format("seccomp filter has {} instructions, the kernel allows {}", p.insns.size(),
                                BPF_MAXINSNS), E2BIG);
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p.flags, &prog) < 0)
        throw_errno(fmt::format("load seccomp filter ({} instructions, flags {:#x})", p.insns.size(), p.flags));
}

}  // namespace berth::runtime
