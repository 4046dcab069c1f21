// Writes NAME-update.bundle (format: config/update_bundle.hpp): the slot image,
// kernel and boot initrd of an A/B build behind a manifest signed with the
// build's Ed25519 key. Same inputs, same bytes (Ed25519 signatures are
// deterministic, every offset is fixed).
#pragma once
#include <cstdint>
#include <string>

#include "config/update_bundle.hpp"

namespace berth::builder {

struct BundleInputs {
    std::string name, arch, version, cmdline;
    std::string kernel, initrd, slot;  // files on the host
    std::string private_key;           // the 32-byte seed
    std::int64_t mtime = 0;
};

// Returns the bundle's size.
std::uint64_t write_update_bundle(const std::string& path, const BundleInputs& in);

}  // namespace berth::builder
