// The A/B disk (output raw-efi-ab, NAME-ab-efi.img) and its update bundle
// (NAME-update.bundle), docs/updates.md:
//
//   LBA 0       protective MBR
//   1 MiB       ESP (FAT, GPT name BERTH-ESP): EFI/BOOT/BOOTX64.EFI = systemd-boot,
//               loader/loader.conf (default berth-*), EFI/Linux/berth-1-a.efi:
//               slot a's unified kernel image, a type #2 entry (committed)
//   then        berth-root-a: the root squashfs with its dm-verity tree (slot size)
//   then        berth-root-b: blank, the same size: the first update goes here
//   then        the data partition (berth.data_partition, default 16M berth-data)
//   last 1 MiB  backup GPT
//
// Each slot boots from its own UKI (builder/uki.hpp: systemd-boot's stub, the
// kernel, the boot initrd), whose command line holds that slot's verity root
// hash and `berth.slot=X`; PID 1 finds the slot's partition by its GPT name.
// With --sign-key/--sign-cert the UKIs and systemd-boot are signed (sbsign), so
// under Secure Boot the command line, and with it the root hash, is as built.
// The bundle holds the same slot image and the UKIs for slot a and slot b, so
// installing it on slot b gives slot b the bytes slot a has.
// Reproducible: every id is derived from the contents, every date is `mtime`
// (unsigned: the same bytes every time; sbsign records the signing time).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "builder/outputs.hpp"
#include "builder/uki.hpp"

namespace berth::builder {

struct AbSettings {
    std::uint64_t slot_bytes = 0;
    std::string name, arch, version;
    std::string private_key;  // signs the bundle
};

std::vector<OutputFile> write_ab_disk(const Tree& tree, const OutputOptions& o, const AbSettings& ab);

// The GPT (sfdisk script) of the A/B disk, sizes in 512-byte sectors.
std::string ab_gpt_script(const std::string& seed, std::uint64_t esp_sectors, std::uint64_t slot_sectors,
                          std::uint64_t data_sectors, const std::string& data_label);

// The ESP's size: room for systemd-boot and two UKIs of `uki_bytes` (the next
// version's may be larger, and an install writes the new one beside the
// running slot's), at least 64 MiB.
std::uint64_t ab_esp_bytes(std::uint64_t uki_bytes);

// The UKI of `slot` ('a' or 'b') but its initrd: the stub, kernel and .uname of
// the build, `cmdline` + " berth.slot=X", an .osrel whose PRETTY_NAME (the
// menu's title) names the image, its version and the slot.
UkiParts ab_uki_parts(const OutputOptions& o, const AbSettings& ab, char slot, const std::string& cmdline);

}  // namespace berth::builder
