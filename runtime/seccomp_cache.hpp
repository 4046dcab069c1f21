// Compiled seccomp programs, reused. libseccomp needs tens of milliseconds of
// CPU to turn the default profile (~350 syscalls, 3 architectures) into BPF,
// more than the rest of a launch; the same profile gives the same program, so
// it is compiled once per process (PID 1 restarting services) and, for the
// runc-style CLI whose every command is a new process, once per cache
// directory. An entry is used only when its stored key, the profile in
// canonical form plus the libseccomp version, equals the wanted one byte for
// byte: a hash collision or a stale file cannot substitute another filter.
#pragma once
#include <string>

#include "runtime/seccomp.hpp"

namespace berth::runtime {

// The profile in canonical text form, with everything compile_seccomp reads.
std::string seccomp_cache_key(const oci::Seccomp& s);

// compile_seccomp through the caches; `dir` empty = the in-memory cache only.
// A cache that cannot be read or written is bypassed, never an error.
SeccompProgram compile_seccomp_cached(const oci::Seccomp& s, const std::string& dir);

// Empties the in-memory cache (tests; a long-running caller freeing memory).
void forget_cached_seccomp();

}  // namespace berth::runtime
