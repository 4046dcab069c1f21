// The A/B disk (output raw-efi-ab, NAME-ab-efi.img) and its update bundle
// (NAME-update.bundle), docs/updates.md:
//
//   LBA 0       protective MBR
//   1 MiB       ESP (FAT, GPT name BERTH-ESP): EFI/BOOT/BOOTX64.EFI = systemd-boot,
//               loader/loader.conf (default berth-*), slot-a/kernel,
//               slot-a/initrd.img, loader/entries/berth-1-a.conf (committed)
//   then        berth-root-a: the root squashfs with its dm-verity tree (slot size)
//   then        berth-root-b: blank, the same size: the first update goes here
//   then        the data partition (berth.data_partition, default 16M berth-data)
//   last 1 MiB  backup GPT
//
// Each slot boots from its own entry, whose command line holds that slot's
// verity root hash and `berth.slot=X`; PID 1 finds the slot's partition by its
// GPT name. The bundle holds the same slot image, kernel, initrd and command
// line, so installing it on slot b gives slot b the bytes slot a has.
// Reproducible: every id is derived from the contents, every date is `mtime`.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "builder/outputs.hpp"

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

// The ESP's size: room for systemd-boot and two kernels and initrds (the next
// version's may be larger), at least 64 MiB.
std::uint64_t ab_esp_bytes(std::uint64_t kernel_bytes, std::uint64_t initrd_bytes);

}  // namespace berth::builder
