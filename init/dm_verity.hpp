// The verified root: PID 1 maps the squashfs disk through a device-mapper
// `verity` target itself (no libdevmapper, no udev, no dm-init in Debian's
// kernel), so that every block read from the root is checked against the root
// hash given on the kernel command line. A block that does not match reads as
// EIO (dm-verity's default: no restart or panic flag), never as wrong data.
//
// The builder appends the hash tree to the squashfs image (see docs/updates.md)
// and writes these keys on the command line:
//   berth.verity.roothash=HEX    sha256 of the top hash block
//   berth.verity.salt=HEX        the salt the tree was made with ("-" for none)
//   berth.verity.datablocks=N    4 KiB data blocks (the padded squashfs)
//   berth.verity.hashoffset=B    byte offset of the verity superblock on the same
//                                disk; the tree starts one 4 KiB block later
#pragma once
#include <map>
#include <optional>
#include <string>

#include "init/sys_ops.hpp"

namespace berth::init {

inline constexpr unsigned kVerityBlockSize = 4096;
inline constexpr const char* kVerityDmName = "berth-root";

struct VerityParams {
    std::string root_hash;  // lower-case hex, 64 digits (sha256)
    std::string salt;       // lower-case hex, or "-"
    std::uint64_t data_blocks = 0;
    std::uint64_t hash_offset = 0;  // bytes, a multiple of kVerityBlockSize
};

// True when the command line names any berth.verity.* key: the root must then
// be verified or refused.
bool verity_requested(const std::map<std::string, std::string>& cmdline);

// The parameters from the command line; nullopt with `err` set when one is
// missing or malformed.
std::optional<VerityParams> verity_params(const std::map<std::string, std::string>& cmdline, std::string& err);

// The `verity` target's parameter string (format version 1, one device for
// data and hash, the tree one block after the superblock at hash_offset).
std::string verity_table(const VerityParams& p, const std::string& device);

// DM_DEV_CREATE, DM_TABLE_LOAD (read-only, one verity target),
// DM_DEV_SUSPEND (resume) on /dev/mapper/control; waits (bounded) for the
// /dev/dm-N node. Returns that node, or "" with `err` saying which step failed
// and why (the half-made device is removed again).
std::string setup_verity(SysOps& sys, const std::string& device, const VerityParams& p, std::string& err);

}  // namespace berth::init
