// The precompiled seccomp program a bundle may carry next to config.json
// (`seccomp.bpf`): the builder compiles the container's linux.seccomp for the
// target once, so the runtime loads it with seccomp(2) instead of running
// libseccomp at every boot. The file names what it was made from, and the
// runtime uses it only when all of that equals what it would compile itself:
//
//   berth-seccomp-program 1
//   libseccomp 2.5.4                     the version that compiled it
//   arch aarch64                         libseccomp's name of the native arch
//   profile sha256:<64 hex>              seccomp_profile_digest of the profile
//   program sha256:<64 hex> <N>          digest of the N instructions below
//   skipped <name>                       0..n: syscalls that libseccomp did not know
//   <empty line>
//   N struct sock_filter, 8 bytes each, in the target's byte order
//
// A file that breaks any of this (truncated, edited, another format version)
// is refused as a whole; there is no partial use.
#pragma once
#include <linux/filter.h>

#include <string>
#include <string_view>
#include <vector>

#include "config/oci_seccomp.hpp"

namespace berth::oci {

// The profile as canonical text: one line per field and rule, everything a
// compiler of the profile reads and nothing of the JSON's spelling (key order,
// spaces). Equal texts compile to the same filter with the same libseccomp.
std::string seccomp_canonical(const Seccomp& s);

// SHA-256 (hex) of seccomp_canonical: the profile a program names as its source.
std::string seccomp_profile_digest(const Seccomp& s);

inline constexpr const char* kSeccompProgramFile = "seccomp.bpf";

// What the program was made from; equal provenance = the same program.
struct SeccompProvenance {
    std::string libseccomp;      // "2.5.4"
    std::string arch;            // "x86_64", "aarch64" (libseccomp's names)
    std::string profile_digest;  // seccomp_profile_digest, hex
    bool operator==(const SeccompProvenance&) const = default;
};

struct SeccompProgramFile {
    SeccompProvenance made_from;
    std::vector<std::string> skipped;  // syscall names the compiling libseccomp did not know
    std::vector<sock_filter> insns;
};

std::string encode_seccomp_program(const SeccompProgramFile& f);

// Throws Error (EINVAL) saying what is wrong: not this format, a field missing
// or malformed, a program whose digest or length does not match its header.
SeccompProgramFile decode_seccomp_program(std::string_view data);

// "" when `have` was made from `want`; otherwise the first difference, for a
// log line ("built for libseccomp 2.5.3, this runtime has 2.5.4").
std::string seccomp_provenance_mismatch(const SeccompProvenance& have, const SeccompProvenance& want);

}  // namespace berth::oci
