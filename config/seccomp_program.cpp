#include "config/seccomp_program.hpp"

#include <cstring>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/sha256.hpp"

namespace berth::oci {
namespace {

constexpr std::string_view kMagic = "berth-seccomp-program 1";
constexpr std::size_t kMaxInsns = BPF_MAXINSNS;  // the kernel loads no longer program
constexpr std::size_t kMaxSkipped = 4096;

[[noreturn]] void bad(const std::string& what) {
    throw Error(fmt::format("{}: {}", kSeccompProgramFile, what), EINVAL);
}

std::string_view program_bytes(const std::vector<sock_filter>& insns) {
    return {reinterpret_cast<const char*>(insns.data()), insns.size() * sizeof(sock_filter)};
}

// A word of the header that must not be empty nor hold a space or a newline.
bool plain_word(std::string_view w) {
    return !w.empty() && w.find_first_of(" \n") == std::string_view::npos;
}

bool hex_digest(std::string_view h) {
    return h.size() == 64 && h.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// The header's lines, one at a time; the empty line ends them.
struct Lines {
    std::string_view data;
    std::size_t at = 0;
    std::string_view next() {
        std::size_t nl = data.find('\n', at);
        if (nl == std::string_view::npos) bad("the header does not end");
        std::string_view line = data.substr(at, nl - at);
        at = nl + 1;
        return line;
    }
};

// "key value" -> value; anything else is an error naming the key.
std::string_view field(std::string_view line, std::string_view key) {
    if (line.size() <= key.size() + 1 || line.substr(0, key.size()) != key || line[key.size()] != ' ')
        bad(fmt::format("expected the `{}` line, got `{}`", key, line.substr(0, 80)));
    return line.substr(key.size() + 1);
}

}  // namespace

std::string seccomp_canonical(const Seccomp& s) {
    std::string k = fmt::format("default {} {}\n", seccomp_action_name(s.default_action),
                                s.default_errno_ret ? int(*s.default_errno_ret) : -1);
    for (const auto& a : s.architectures) k += "arch " + a + "\n";
    for (const auto& f : s.flags) k += "flag " + f + "\n";
    for (const auto& r : s.syscalls) {
        k += fmt::format("rule {} {}", seccomp_action_name(r.action), r.errno_ret ? int(*r.errno_ret) : -1);
        for (const auto& n : r.names) k += " " + n;
        for (const auto& a : r.args) k += fmt::format(" [{} {} {} {}]", a.index, int(a.op), a.value, a.value_two);
        k += "\n";
    }
    return k;
}

std::string seccomp_profile_digest(const Seccomp& s) { return digest::sha256_hex(seccomp_canonical(s)); }

std::string encode_seccomp_program(const SeccompProgramFile& f) {
    const SeccompProvenance& p = f.made_from;
    if (!plain_word(p.libseccomp) || !plain_word(p.arch) || !hex_digest(p.profile_digest))
        throw Error(fmt::format("{}: malformed provenance `{}` `{}` `{}`", kSeccompProgramFile, p.libseccomp,
                                p.arch, p.profile_digest),
                    EINVAL);
    if (f.insns.empty() || f.insns.size() > kMaxInsns)
        throw Error(fmt::format("{}: {} instructions, must be 1 to {}", kSeccompProgramFile, f.insns.size(), kMaxInsns),
                    E2BIG);
    std::string out = fmt::format("{}\nlibseccomp {}\narch {}\nprofile sha256:{}\nprogram sha256:{} {}\n", kMagic,
                                  p.libseccomp, p.arch, p.profile_digest,
                                  digest::sha256_hex(program_bytes(f.insns)), f.insns.size());
    for (const auto& s : f.skipped) {
        if (!plain_word(s)) throw Error(fmt::format("{}: malformed syscall name `{}`", kSeccompProgramFile, s), EINVAL);
        out += "skipped " + s + "\n";
    }
    out += "\n";
    out += program_bytes(f.insns);
    return out;
}

SeccompProgramFile decode_seccomp_program(std::string_view data) {
    Lines lines{data};
    if (data.substr(0, kMagic.size() + 1) != std::string(kMagic) + "\n") bad("not a berth seccomp program (format 1)");
    lines.at = kMagic.size() + 1;
    SeccompProgramFile f;
    f.made_from.libseccomp = std::string(field(lines.next(), "libseccomp"));
    f.made_from.arch = std::string(field(lines.next(), "arch"));
    std::string_view profile = field(lines.next(), "profile");
    if (profile.substr(0, 7) != "sha256:" || !hex_digest(profile.substr(7))) bad("malformed profile digest");
    f.made_from.profile_digest = std::string(profile.substr(7));
    std::string_view program = field(lines.next(), "program");
    std::size_t space = program.find(' ');
    if (program.substr(0, 7) != "sha256:" || space != 71 || !hex_digest(program.substr(7, 64)))
        bad("malformed program digest");
    std::string_view count_text = program.substr(space + 1);
    std::size_t count = 0;
    if (count_text.empty() || count_text.size() > 5 || count_text.find_first_not_of("0123456789") != std::string_view::npos)
        bad("malformed instruction count");
    for (char c : count_text) count = count * 10 + std::size_t(c - '0');
    if (count == 0 || count > kMaxInsns) bad(fmt::format("{} instructions, must be 1 to {}", count, kMaxInsns));
    for (std::string_view line = lines.next(); !line.empty(); line = lines.next()) {
        std::string_view name = field(line, "skipped");
        if (!plain_word(name) || f.skipped.size() >= kMaxSkipped) bad("malformed skipped syscall line");
        f.skipped.emplace_back(name);
    }
    if (!plain_word(f.made_from.libseccomp) || !plain_word(f.made_from.arch)) bad("malformed provenance");
    std::string_view body = data.substr(lines.at);
    if (body.size() != count * sizeof(sock_filter))
        bad(fmt::format("{} bytes of program, the header announces {} instructions ({} bytes)", body.size(), count,
                        count * sizeof(sock_filter)));
    if (digest::sha256_hex(body) != program.substr(7, 64)) bad("the program does not match its digest");
    f.insns.resize(count);
    std::memcpy(f.insns.data(), body.data(), body.size());
    return f;
}

std::string seccomp_provenance_mismatch(const SeccompProvenance& have, const SeccompProvenance& want) {
    if (have.libseccomp != want.libseccomp)
        return fmt::format("built with libseccomp {}, this runtime has {}", have.libseccomp, want.libseccomp);
    if (have.arch != want.arch) return fmt::format("built for {}, this machine is {}", have.arch, want.arch);
    if (have.profile_digest != want.profile_digest) return "built from another seccomp profile than config.json's";
    return "";
}

}  // namespace berth::oci
