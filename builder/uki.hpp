// The `uki` output: a unified kernel image, one PE file (PREFIX.efi) that the
// firmware or a boot loader starts and that carries everything the boot needs:
// systemd-boot's stub (linuxx64.efi.stub from Debian's systemd-boot-efi) with
//   .osrel    an os-release naming the image
//   .cmdline  the image's whole kernel command line (with the verity keys when
//             the build writes a verified kernel+squashfs)
//   .uname    the kernel's version (read by tools; systemd 252's stub ignores it)
//   .initrd   the initrd (the squashfs boot initrd when the build writes
//             kernel+squashfs, else the whole root)
//   .linux    the kernel
// added after the stub's own sections by objcopy. Signed with sbsign when a key
// and certificate are given, and checked with sbverify after signing, so under
// Secure Boot the firmware refuses the file if any byte of it changes.
// Reproducible: the same inputs give the same bytes (objcopy's time stamp is
// replaced by the build's mtime, the PE checksum recomputed).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "builder/outputs.hpp"
#include "builder/tree.hpp"

namespace berth::builder {

struct PeSection {
    std::string name;
    std::uint32_t virtual_address = 0;
    std::uint32_t virtual_size = 0;
    std::uint32_t raw_size = 0;
    std::uint32_t raw_offset = 0;
};

struct PeLayout {
    std::uint32_t section_alignment = 0;
    std::uint32_t file_alignment = 0;
    std::uint32_t size_of_image = 0;
    std::uint32_t timestamp = 0;
    std::uint32_t checksum = 0;
    std::size_t timestamp_offset = 0;  // file offsets of the two fields
    std::size_t checksum_offset = 0;
    std::vector<PeSection> sections;
};

// Reads the headers of a PE32 or PE32+ file; throws berth::Error (EINVAL) naming
// `what` when the bytes are not one.
PeLayout read_pe_layout(const std::string& bytes, const std::string& what);

// The first address after the image: the end of its last section or
// SizeOfImage, whichever is larger.
std::uint64_t pe_image_end(const PeLayout& pe);

// Where each added section goes: one after the other, from the end of the stub,
// each at a multiple of max(SectionAlignment, 4096) (the PE format asks for the
// section alignment; whole pages let a firmware that maps sections with their own
// page protections do so). `sizes`: name and byte count, in order.
struct PlacedSection {
    std::string name;
    std::uint64_t address = 0;
    std::uint64_t size = 0;
};
std::vector<PlacedSection> place_sections(const PeLayout& stub,
                                          const std::vector<std::pair<std::string, std::uint64_t>>& sizes);

// The PE checksum (the sum of the 16-bit words with carries folded, checksum
// field counted as 0, plus the file length).
std::uint32_t pe_checksum(const std::string& bytes, std::size_t checksum_offset);

// Sets the COFF time stamp and recomputes the checksum, in place.
void set_pe_timestamp(std::string& bytes, std::uint32_t timestamp);

// The .osrel of an image named `name`: systemd-boot's menu shows PRETTY_NAME,
// `pretty` when given, else "berth image NAME". No version key: systemd-boot
// would order the A/B disk's entries by it before their names.
std::string uki_os_release(const std::string& name, const std::string& pretty = "");

struct SigningKey {
    std::string key;   // PEM private key, not encrypted (sbsign runs without a terminal)
    std::string cert;  // PEM certificate
};

// Both files must exist and be readable; the key must not be encrypted. Throws
// berth::Error naming the option and the file.
void check_signing_key(const SigningKey& k);

// Signs `in` into `out` with sbsign, then checks `out` with sbverify against
// the certificate. Throws berth::Error with the tool's message on failure.
void sign_efi(const std::string& in, const std::string& out, const SigningKey& k);

struct UkiParts {
    std::string stub;     // path of linuxx64.efi.stub
    std::string kernel;   // path
    std::string initrd;   // path
    std::string cmdline;  // text
    std::string osrel;    // text
    std::string uname;    // text; empty = no .uname
};

// Writes the unified image to `out` (atomically), signed when `key` is given.
// Returns its size.
std::uint64_t write_uki(const UkiParts& parts, const std::string& out, std::int64_t mtime,
                        const std::optional<SigningKey>& key);

// The `uki` output: PREFIX.efi. With o.boot_tree (the build writes
// kernel+squashfs, which must already be written) the UKI boots that squashfs:
// its initrd and command line (with the verity keys) are PREFIX-squashfs-initrd.img
// and PREFIX-cmdline; otherwise the whole tree is its initrd.
std::vector<OutputFile> write_uki_output(const Tree& tree, const OutputOptions& o);

}  // namespace berth::builder
