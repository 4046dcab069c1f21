// Disk image outputs: one hybrid GPT disk that boots under BIOS and under UEFI,
// written as raw (raw-bios, raw-efi, aws), qcow2 (qcow2-bios, qcow2-efi), fixed
// VHD (vhd) or GCP's tar.gz (gcp); and iso-efi, a CD whose El Torito EFI image is
// the same EFI system partition.
//
// The disk:  LBA 0       protective MBR with syslinux's gptmbr.bin as boot code
//            1 MiB       EFI system partition (FAT, "BERTH-ESP", legacy BIOS bootable):
//                          kernel, initrd.img, syslinux.cfg + ldlinux.sys/.c32 (BIOS),
//                          EFI/BOOT/BOOTX64.EFI = systemd-boot, loader/ (UEFI)
//            after it    optional data partition (GPT name = its label), left blank
//            last 1 MiB  backup GPT
// Nothing is mounted: mkfs.vfat writes the FAT into a file, mtools fills it,
// syslinux's mtools installer makes it BIOS-bootable, sfdisk writes the GPT.
// Reproducible: FAT volume id and GUIDs are derived from the ESP's contents, every
// FAT and ISO date is the build's mtime, files are added in a fixed order.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "builder/outputs.hpp"

namespace berth::builder {

// raw-bios raw-efi qcow2-bios qcow2-efi vhd gcp aws iso-efi
const std::vector<std::string>& disk_formats();
bool is_disk_format(const std::string& format);

// The file name a disk format is written to, after PREFIX (LinuxKit's names):
// "-bios.img", "-efi.img", ".qcow2", "-efi.qcow2", ".vhd", ".img.tar.gz", ".raw", "-efi.iso".
std::string disk_format_suffix(const std::string& format);

std::vector<OutputFile> write_disk_output(const std::string& format, const Tree& tree, const OutputOptions& o);

// A GUID (lower-case, with dashes, RFC 4122 version 4 bits) made from the first
// 16 bytes of sha256(seed): stable for the same seed.
std::string guid_from_seed(const std::string& seed);

// The sfdisk script of the disk: sizes in 512-byte sectors; data_sectors 0 = no data
// partition.
std::string gpt_script(const std::string& seed, std::uint64_t esp_sectors, std::uint64_t data_sectors,
                       const std::string& data_label);

// Rewrites the timestamp and unique id of a fixed VHD's footer (its last 512
// bytes; qemu-img puts the wall clock and a random id there) and its checksum.
void fix_vhd_footer(std::string& footer, std::int64_t mtime, const std::string& seed);

}  // namespace berth::builder
