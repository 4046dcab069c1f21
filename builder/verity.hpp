// The verified root of the kernel+squashfs output (`berth: {verity: true}`):
// veritysetup (Debian's cryptsetup-bin) appends a dm-verity hash tree to the
// squashfs image, and PID 1 checks every block it reads against the root hash
// the kernel command line carries (init/dm_verity.hpp). Layout of the image:
//   [0, D)        the squashfs, zero-padded to a multiple of 4 KiB (D bytes)
//   [D, D+4096)   the verity superblock (format 1, sha256, 4 KiB blocks)
//   [D+4096, …)   the hash tree, top level first
// Reproducible: the salt is the sha256 of the padded squashfs and the UUID is
// derived from it, so the same squashfs gives the same bytes and root hash.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace berth::builder {

struct VerityTree {
    std::string root_hash;  // hex
    std::string salt;       // hex
    std::string uuid;
    std::uint64_t data_blocks = 0;
    std::uint64_t hash_offset = 0;  // bytes: the superblock; D above
};

// "Root hash:      <hex>" from `veritysetup format`'s report, or nullopt.
std::optional<std::string> parse_root_hash(const std::string& report);

// The UUID veritysetup is given: 8-4-4-4-12 hex digits from `seed` (64 hex
// digits), marked as a random (version 4) UUID.
std::string uuid_from_hex(const std::string& seed);

// The kernel command line keys PID 1 reads (berth.verity.*).
std::string verity_cmdline(const VerityTree& t);

// Pads `image` to 4 KiB and appends the superblock and hash tree to it (in
// place). Throws berth::Error naming the step (veritysetup missing: install
// cryptsetup-bin).
VerityTree append_verity_tree(const std::string& image);

}  // namespace berth::builder
