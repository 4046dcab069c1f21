// Deterministic, streaming gzip "newc" cpio writer for a Tree (the initramfs format).
//
// Same tree + same options => same bytes: entries are written in path order, every
// mtime is the same (SOURCE_DATE_EPOCH or 0), ownership comes from the tree (0:0 by
// default), inode numbers are assigned in path order, and the gzip header carries no
// timestamp. Hard links within the tree are kept: every link shares one inode
// number and the data follows the last link (the convention the kernel expects).
#pragma once
#include <cstdint>
#include <string>

#include "builder/tree.hpp"

struct archive_entry;

namespace berth::builder {

// Sets the file type of a libarchive entry from a tree entry, with the symlink
// target or device numbers (the cpio and tar writers share it; sizes are theirs).
void set_archive_file_type(archive_entry* ae, const TreeEntry& e);

struct CpioOptions {
    std::int64_t mtime = 0;
    bool gzip = true;
    bool zstd = false;  // instead of gzip (the kernel's CONFIG_RD_ZSTD)
    int compression_level = 6;
    // newc stores sizes in 32 bits; an initramfs larger than this is refused.
    std::uint64_t max_size = (std::uint64_t(1) << 32) - 1;
};

struct ArchiveStats {
    std::size_t entries = 0;
    std::uint64_t uncompressed_bytes = 0;  // the cpio stream before compression
    std::uint64_t written_bytes = 0;       // what went to the output
};

// SOURCE_DATE_EPOCH from the environment, or 0; throws on a malformed value.
std::int64_t source_date_epoch();

// The exact size of the uncompressed newc stream for `tree` (headers, names, data,
// padding and trailer).
std::uint64_t newc_size(const Tree& tree);

// Writes to `fd` (not closed). Throws berth::Error if the archive would exceed
// opts.max_size, before anything is written.
ArchiveStats write_cpio(const Tree& tree, int fd, const CpioOptions& opts);
// Writes to `path` atomically (a temporary file renamed into place).
ArchiveStats write_cpio(const Tree& tree, const std::string& path, const CpioOptions& opts);

}  // namespace berth::builder
