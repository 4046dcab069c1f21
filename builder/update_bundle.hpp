// Writes NAME-update.bundle (format: config/update_bundle.hpp): the slot image
// of an A/B build and its two unified kernel images (one per slot) behind a
// manifest signed with the build's Ed25519 key. Same inputs, same bytes
// (Ed25519 signatures are deterministic, every offset is fixed); a UKI signed
// for Secure Boot is not the same bytes twice (sbsign records the signing
// time), so neither is a bundle that carries one.
#pragma once
#include <cstdint>
#include <string>

#include "config/update_bundle.hpp"

namespace berth::builder {

struct BundleInputs {
    std::string name, arch, version;
    std::string uki_a, uki_b, slot;  // files on the host
    std::string private_key;           // the 32-byte seed
    std::int64_t mtime = 0;
};

// Returns the bundle's size.
std::uint64_t write_update_bundle(const std::string& path, const BundleInputs& in);

}  // namespace berth::builder
