#include "runtime/device_filter.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::runtime {
namespace {

// How replace_device_filter() tells berth's program from others on the cgroup.
constexpr const char kProgramName[] = "berth_devices";

bpf_insn insn(std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t off, std::int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}

// Registers after the prologue: r2 device type, r3 requested access, r4 major, r5 minor.
std::vector<bpf_insn> prologue() {
    return {
        insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0),  // access_type
        insn(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff),
        insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_3, BPF_REG_1, 0, 0),
        insn(BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16),
        insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, 4, 0),  // major
        insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, 8, 0),  // minor
    };
}

std::int32_t access_bits(const std::string& access) {
    std::int32_t bits = 0;
    for (char c : access) {
        if (c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
        if (c == 'r') bits |= BPF_DEVCG_ACC_READ;
        if (c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
    }
    return bits;
}

// One rule: conditional jumps to the end of the block when it does not match,
// then the verdict. Jump offsets are patched once the block length is known.
std::vector<bpf_insn> rule_block(const oci::DeviceRule& r) {
    std::vector<bpf_insn> b;
    std::vector<size_t> to_next;
    auto jump_unless = [&](std::uint8_t op, std::uint8_t reg, std::int32_t imm) {
        to_next.push_back(b.size());
        b.push_back(insn(BPF_JMP | op | BPF_K, reg, 0, 0, imm));
    };
    if (r.type != 'a') jump_unless(BPF_JNE, BPF_REG_2, r.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
    const std::int32_t bits = access_bits(r.access);
    if (bits != (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)) {
        b.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0));
        if (r.allow) {  // requested access outside the rule's: no match
            b.push_back(insn(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_1, 0, 0, ~bits));
            jump_unless(BPF_JNE, BPF_REG_1, 0);
        } else {  // no requested access in common with the rule's: no match
            b.push_back(insn(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_1, 0, 0, bits));
            jump_unless(BPF_JEQ, BPF_REG_1, 0);
        }
    }
    if (r.major && *r.major >= 0) jump_unless(BPF_JNE, BPF_REG_4, std::int32_t(*r.major));
    if (r.minor && *r.minor >= 0) jump_unless(BPF_JNE, BPF_REG_5, std::int32_t(*r.minor));
    b.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r.allow ? 1 : 0));
    b.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    for (size_t at : to_next) b[at].off = std::int16_t(b.size() - at - 1);
    return b;
}

long bpf(int cmd, bpf_attr& attr) { return ::syscall(SYS_bpf, cmd, &attr, sizeof attr); }

}  // namespace

std::vector<oci::DeviceRule> device_rules_with_defaults(const std::vector<oci::DeviceRule>& spec_rules,
                                                        const std::vector<oci::Device>& nodes) {
    std::vector<oci::DeviceRule> out = spec_rules;
    // runc's allowed set, which LinuxKit's and Docker's containers have always
    // had: mknod of any node (opening one still needs a rule of its own), then
    // null, zero, full, random, urandom, tty, console, ptmx, every pts and
    // /dev/net/tun (allowed, not created).
    out.push_back(oci::DeviceRule{true, 'c', -1, -1, "m"});
    out.push_back(oci::DeviceRule{true, 'b', -1, -1, "m"});
    struct Default {
        std::int64_t major, minor;
    };
    for (Default d : {Default{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 1}, {5, 2}, {136, -1}, {10, 200}})
        out.push_back(oci::DeviceRule{true, 'c', d.major, d.minor, "rwm"});
    for (const auto& n : nodes)
        if (n.type != 'p') out.push_back(oci::DeviceRule{true, n.type == 'b' ? 'b' : 'c', n.major, n.minor, "rwm"});
    return out;
}

std::vector<bpf_insn> device_filter_program(const std::vector<oci::DeviceRule>& rules) {
    std::vector<bpf_insn> p = prologue();
    for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
        auto b = rule_block(*it);
        p.insert(p.end(), b.begin(), b.end());
        // A rule matching everything decides alone: what follows would be
        // unreachable, which the verifier rejects.
        if (b.size() == 2) return p;
    }
    p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));  // nothing matched: deny
    p.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    return p;
}

namespace {

fs::Fd load_device_program(const std::vector<oci::DeviceRule>& rules) {
    const std::vector<bpf_insn> prog = device_filter_program(rules);
    static const char license[] = "GPL";
    bpf_attr load{};
    load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    load.insns = reinterpret_cast<std::uint64_t>(prog.data());
    load.insn_cnt = std::uint32_t(prog.size());
    load.license = reinterpret_cast<std::uint64_t>(license);
    std::strncpy(load.prog_name, kProgramName, sizeof load.prog_name - 1);
    fs::Fd prog_fd(int(bpf(BPF_PROG_LOAD, load)));
    if (!prog_fd) {
        // Again with the verifier's log, for the error message.
        int e = errno;
        char log[4096] = "";
        load.log_level = 1;
        load.log_buf = reinterpret_cast<std::uint64_t>(log);
        load.log_size = sizeof log;
        fs::Fd again(int(bpf(BPF_PROG_LOAD, load)));
        std::string text(log);
        while (!text.empty() && text.back() == '\n') text.pop_back();
        if (auto nl = text.find('\n'); nl != std::string::npos) text = text.substr(0, nl);  // the reason
        throw_errno(fmt::format("linux.resources.devices: load the BPF device program ({} instructions){}",
                                prog.size(), text.empty() ? "" : " (verifier: " + text + ")"), e);
    }
    return prog_fd;
}

fs::Fd open_cgroup(const std::string& cgroup_dir) {
    fs::Fd dir(::open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) throw_errno(fmt::format("open cgroup `{}`", cgroup_dir));
    return dir;
}

// `replace`: the attached program the new one takes the place of, in one step
// (BPF_F_REPLACE): no moment without a filter, none with two.
void attach(int dir, int prog, int replace, const std::string& cgroup_dir) {
    bpf_attr attach{};
    attach.target_fd = std::uint32_t(dir);
    attach.attach_bpf_fd = std::uint32_t(prog);
    attach.attach_type = BPF_CGROUP_DEVICE;
    attach.attach_flags = BPF_F_ALLOW_MULTI;
    if (replace >= 0) {
        attach.attach_flags |= BPF_F_REPLACE;
        attach.replace_bpf_fd = std::uint32_t(replace);
    }
    if (bpf(BPF_PROG_ATTACH, attach) < 0)
        throw_errno(fmt::format("linux.resources.devices: {} the BPF device program {} `{}`",
                                replace >= 0 ? "replace" : "attach", replace >= 0 ? "of" : "to", cgroup_dir));
}

// The device program berth attached to this cgroup itself (not inherited), or
// an empty fd when there is none.
fs::Fd attached_berth_program(int dir, const std::string& cgroup_dir) {
    std::uint32_t ids[64] = {};
    bpf_attr query{};
    query.query.target_fd = std::uint32_t(dir);
    query.query.attach_type = BPF_CGROUP_DEVICE;
    query.query.prog_ids = reinterpret_cast<std::uint64_t>(ids);
    query.query.prog_cnt = 64;
    if (bpf(BPF_PROG_QUERY, query) < 0) throw_errno(fmt::format("query the BPF device programs of `{}`", cgroup_dir));
    for (std::uint32_t i = 0; i < query.query.prog_cnt && i < 64; ++i) {
        bpf_attr get{};
        get.prog_id = ids[i];
        fs::Fd fd(int(bpf(BPF_PROG_GET_FD_BY_ID, get)));
        if (!fd) continue;  // detached meanwhile
        bpf_prog_info info{};
        bpf_attr about{};
        about.info.bpf_fd = std::uint32_t(fd.get());
        about.info.info_len = sizeof info;
        about.info.info = reinterpret_cast<std::uint64_t>(&info);
        if (bpf(BPF_OBJ_GET_INFO_BY_FD, about) < 0) continue;
        if (std::strncmp(info.name, kProgramName, sizeof info.name) == 0) return fd;
    }
    return fs::Fd();
}

}  // namespace

void attach_device_filter(const std::string& cgroup_dir, const std::vector<oci::DeviceRule>& rules) {
    fs::Fd prog = load_device_program(rules);
    fs::Fd dir = open_cgroup(cgroup_dir);
    attach(dir.get(), prog.get(), -1, cgroup_dir);
}

bool replace_device_filter(const std::string& cgroup_dir, const std::vector<oci::DeviceRule>& rules) {
    fs::Fd prog = load_device_program(rules);
    fs::Fd dir = open_cgroup(cgroup_dir);
    fs::Fd old = attached_berth_program(dir.get(), cgroup_dir);
    attach(dir.get(), prog.get(), old ? old.get() : -1, cgroup_dir);
    return bool(old);
}

}  // namespace berth::runtime
