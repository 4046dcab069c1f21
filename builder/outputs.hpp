// The output formats of `berth build`, all written from the same Tree:
//   kernel+initrd    PREFIX-kernel, PREFIX-initrd.img (newc cpio, gzip or zstd), PREFIX-cmdline
//   tar              PREFIX.tar: the root file system (pax, with owners and xattrs)
//   iso-bios         PREFIX.iso: isolinux boots kernel + initrd from a CD image
//                    (BIOS), no -kernel needed
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
    std::string isolinux_dir = "/usr/lib/ISOLINUX";             // isolinux.bin
    std::string syslinux_modules = "/usr/lib/syslinux/modules/bios";  // ldlinux.c32
};

struct OutputFile {
    std::string what;  // "kernel", "initrd", "tar", "iso"
    std::string path;
    std::uint64_t bytes = 0;
    std::uint64_t raw_bytes = 0;  // before compression, when that means something
};

std::vector<OutputFile> write_output(const std::string& format, const Tree& tree, const OutputOptions& o);

// Writes the tree as a deterministic pax tar to `path` (atomically).
std::uint64_t write_tar(const Tree& tree, const std::string& path, std::int64_t mtime);

}  // namespace berth::builder
