// The precompiled seccomp program of a bundle (format: config/seccomp_program.hpp).
// The builder makes it with precompile_seccomp, on the build machine, for the
// image's architecture; a launch uses it only when its provenance (libseccomp
// version, architecture, profile digest) equals what this runtime would compile
// from config.json, and compiles otherwise. Either way the same bytes reach
// seccomp(2): the program is libseccomp's own output, only made earlier.
#pragma once
#include <optional>
#include <string>

#include "config/seccomp_program.hpp"
#include "runtime/seccomp.hpp"

namespace berth::runtime {

// What a program of `s` compiled by this libseccomp for `arch` is made from.
oci::SeccompProvenance seccomp_provenance(const oci::Seccomp& s, const std::string& arch);

// The file's bytes: `s` compiled for `target_arch` (libseccomp's name).
std::string precompile_seccomp(const oci::Seccomp& s, const std::string& target_arch);

struct ShippedSeccomp {
    std::optional<SeccompProgram> program;
    std::string refused;  // why there is no program: no file, a mismatch, a bad file
    bool file_present = false;
};

// The bundle's program when it matches `s` on this machine. Never throws for
// the file's sake: any problem is a reason to compile instead.
ShippedSeccomp load_shipped_seccomp(const std::string& bundle_dir, const oci::Seccomp& s);

}  // namespace berth::runtime
