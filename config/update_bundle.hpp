// The update bundle: one file that carries a new root slot and the unified
// kernel images that boot it to a running A/B machine (docs/updates.md). Written by `berth
// build` (builder/update_bundle.hpp), checked and installed by `berth update
// apply` in the image (ctl/update_cmd.cpp).
//
//   [0, 8)        magic "BERTHUB1"
//   [8, 16)       manifest length M, little-endian
//   [16, 80)      Ed25519 signature over the manifest's M bytes
//   [80, 80+M)    the manifest: `key=value` lines (below)
//   payloads      uki-a, uki-b, slot, each at the 4 KiB-aligned offset the
//                 manifest gives, zero padding between; the file ends 4 KiB-aligned
//
// uki-a and uki-b are the slot's kernel, boot initrd and command line as one
// unified kernel image each (builder/uki.hpp), the same but for the command
// line's `berth.slot=X` (which the UKI's signature, when it has one, covers):
// the bundle goes to whichever slot is inactive, and that slot's UKI goes to
// the ESP.
//
// Manifest keys, in this order: format (2), name, arch, version, then for each
// of uki-a, uki-b and slot: PART.offset, PART.size, PART.sha256. The signature
// covers the manifest and the manifest covers the payloads' digests, so one
// signature check and three digests prove the whole file. Format 1 (kernel,
// initrd and command line for a type #1 entry) is refused.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace berth::update {

inline constexpr char kBundleMagic[9] = "BERTHUB1";
inline constexpr std::uint64_t kHeaderBytes = 80;
inline constexpr std::uint64_t kMaxManifestBytes = 64 * 1024;
inline constexpr std::uint64_t kPayloadAlign = 4096;

struct BundlePart {
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
    std::string sha256;  // hex
    bool operator==(const BundlePart&) const = default;
};

inline constexpr int kBundleFormat = 2;

struct Manifest {
    std::string name, arch, version;
    BundlePart uki_a, uki_b, slot;
    // The UKI that boots `slot` ('a' or 'b').
    const BundlePart& uki(char slot) const { return slot == 'a' ? uki_a : uki_b; }
    bool operator==(const Manifest&) const = default;
};

std::string serialise_manifest(const Manifest& m);
// Throws berth::Error(EINVAL) naming the first problem.
Manifest parse_manifest(const std::string& text);

// The 80-byte header for a manifest and its 64-byte signature.
std::string bundle_header(const std::string& manifest_text, const std::string& signature);

// The bundle's first bytes split into the manifest text and the signature.
// `head` must hold at least 80 + M bytes; `needed` says how many when it does
// not (then the result is empty). Throws Error(EINVAL) on a bad magic or size.
struct BundleHead {
    std::string manifest_text;
    std::string signature;
};
BundleHead split_bundle_head(const std::string& head, std::uint64_t& needed);

// Ed25519 (RFC 8032, nettle): 32-byte private seed, 32-byte public key, 64-byte signature.
std::string ed25519_public_key(const std::string& private_seed);
std::string ed25519_sign(const std::string& private_seed, const std::string& message);
bool ed25519_verify(const std::string& public_key, const std::string& message, const std::string& signature);

// Lower-case hex and back (nullopt-free: throws Error(EINVAL) on a bad digit or odd length).
std::string to_hex(const std::string& bytes);
std::string from_hex(const std::string& hex);

// A signing key file: 64 hex digits (the private seed), surrounding whitespace ignored.
std::string parse_private_key(const std::string& text);

// Everything checkable before a byte is written: the signature against
// `public_key`, the image name and architecture, that every part lies inside
// a file of `file_bytes`, and that the slot fits `slot_capacity` bytes. ""
// when the bundle may be installed, else why not.
std::string check_bundle(const BundleHead& head, const Manifest& m, const std::string& public_key,
                         const std::string& image_name, const std::string& arch, std::uint64_t file_bytes,
                         std::uint64_t slot_capacity);

// Anti-rollback: "" when a bundle of `bundle_version` may replace a machine
// running `running_version`, else why not. Versions compare as strverscmp(3)
// compares them (digit runs as numbers: 1.10 after 1.9); the same version may
// be installed again; a machine whose image has no version accepts any. Kept
// apart from check_bundle because the operator may override it on purpose.
std::string check_version(const std::string& bundle_version, const std::string& running_version);

// The A/B disk's names, shared by the builder, PID 1 and `berth update`.
//   GPT names: BERTH-ESP, berth-root-a, berth-root-b (and the data partition's)
//   ESP: EFI/Linux/berth-GEN-X[+LEFT[-DONE]].efi, the slot's unified kernel
//   image as systemd-boot's type #2 entry (its id the file name)
// GEN grows with every install, so the newest slot's entry sorts first
// (systemd-boot orders these entries by name, newest version first, and puts
// those with no tries left last); +LEFT-DONE is systemd-boot's boot counter,
// which it keeps in the file names of type #2 entries as of type #1.
inline constexpr const char* kEspPartName = "BERTH-ESP";
// The directory of the boot entries in the ESP.
inline constexpr const char* kBootEntryDir = "EFI/Linux";
// PID 1's log of the last boots (init/boot_log.hpp): a raw 1 MiB partition.
inline constexpr const char* kBootLogPartName = "berth-boot-log";
std::string slot_part_name(char slot);  // "berth-root-a"

struct BootEntryName {
    unsigned generation = 0;
    char slot = 'a';
    int tries_left = -1;  // -1: no counter (a committed entry)
    int tries_done = -1;  // -1: absent
    bool operator==(const BootEntryName&) const = default;
};
std::string boot_entry_file(const BootEntryName& e);
// nullopt for a name that is not one of berth's entries.
std::optional<BootEntryName> parse_boot_entry_file(const std::string& file);

}  // namespace berth::update
