// SHA-256 (FIPS 180-4) for checks PID 1 makes on files of its image: the static
// PID 1 links no crypto library, and the builder's digests go through nettle.
#pragma once
#include <string>
#include <string_view>

namespace berth::digest {

// Lower-case hex digest of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace berth::digest
