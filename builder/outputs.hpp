// The output formats of `berth build`, all written from the same Tree:
//   kernel+initrd    PREFIX-kernel, PREFIX-initrd.img (newc cpio, gzip or zstd), PREFIX-cmdline
//   tar              PREFIX.tar: the root file system (pax, with owners and xattrs)
//   kernel+squashfs  PREFIX-kernel, PREFIX-squashfs.img (the root file system, read-only),
//                    PREFIX-squashfs-initrd.img (/init and the modules to reach the
//                    disk; PID 1 mounts the squashfs as /), PREFIX-cmdline; with
//                    `berth: {verity: true}` the squashfs image ends with its
//                    dm-verity hash tree and the cmdline carries its root hash
//   iso-bios         PREFIX.iso: isolinux boots kernel + initrd from a CD image
//                    (BIOS), no -kernel needed
//   raw-bios raw-efi qcow2-bios qcow2-efi vhd gcp aws iso-efi: disk images, see
//                    builder/disk_image.hpp
//   uki              PREFIX.efi: a unified kernel image, signed when a key is
//                    given (builder/uki.hpp)
// Same tree + same options => same bytes (fixed mtime, owners, order).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "builder/tree.hpp"

namespace berth::builder {

struct OutputOptions {
    std::string prefix;        // OUTDIR/NAME
    std::string kernel_image;  // vmlinuz on the host
    std::string cmdline;
    std::string compression = "gzip";  // gzip | zstd (kernel+initrd, iso-bios)
    std::int64_t mtime = 0;
    const Tree* boot_tree = nullptr;  // kernel+squashfs: the small initrd's contents
    bool verity = false;  // kernel+squashfs: append a dm-verity tree (builder/verity.hpp)
    std::string isolinux_dir = "/usr/lib/ISOLINUX";             // isolinux.bin
    std::string syslinux_modules = "/usr/lib/syslinux/modules/bios";  // ldlinux.c32
    // Disk images: the boot code of a GPT disk for BIOS (syslinux-common) and the
    // UEFI boot loader (systemd-boot-efi).
    std::string syslinux_gpt_mbr = "/usr/lib/syslinux/mbr/gptmbr.bin";
    std::string systemd_boot_efi = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi";
    // The optional data partition of disk images: 0 = none. Left blank (its GPT
    // name is the label, so the image's first boot can find and format it).
    std::uint64_t data_partition_bytes = 0;
    std::string data_partition_label = "berth-data";
    // uki: the image's name (its .osrel), the kernel's version (.uname), the stub,
    // and the key and certificate to sign it with (none: unsigned).
    std::string name;
    std::string kernel_version;
    std::string uki_stub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";
    std::string signing_key, signing_cert;
    // The disk outputs' UEFI boot: "" = systemd-boot's entry with kernel, initrd and
    // command line; else this UKI (the build's uki output), systemd-boot then
    // signed with the same key (builder/disk_image.hpp).
    std::string uki;
};

struct OutputFile {
    std::string what;  // "kernel", "initrd", "tar", "iso"
    std::string path;
    std::uint64_t bytes = 0;
    std::uint64_t raw_bytes = 0;  // before compression, when that means something
};

std::vector<OutputFile> write_output(const std::string& format, const Tree& tree, const OutputOptions& o);

// Writes the tree as a squashfs image (tar2sqfs from squashfs-tools-ng reads the
// deterministic tar, so owners, modes, xattrs and hard links are kept without root
// and every timestamp is `mtime`). compression: gzip | zstd.
std::uint64_t write_squashfs(const Tree& tree, const std::string& path, std::int64_t mtime,
                             const std::string& compression);

// Writes the tree as a deterministic pax tar to `path` (atomically).
std::uint64_t write_tar(const Tree& tree, const std::string& path, std::int64_t mtime);

}  // namespace berth::builder
