// SHA-256 for every digest berth computes: the builder's blob digests and the
// checks PID 1 makes on files of its image (the bundle's seccomp program).
// nettle does the hashing; its static archive links into the static PID 1.
#pragma once
#include <string>
#include <string_view>

namespace berth::digest {

// Lower-case hex digest of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace berth::digest
