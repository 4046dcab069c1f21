// What blkid would say about a block device, from its first bytes only: the file
// system (ext2/3/4, xfs, vfat, squashfs, swap) with its UUID and label, and a
// GPT's partition GUIDs. Pure functions over a bounded buffer; any bytes are safe.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace berth::init {

// How much of a device to read: the GPT header and 128 entries for 512- and
// 4096-byte sectors, and every superblock probed here.
constexpr std::size_t kDiskProbeBytes = 32 * 1024;

struct FsInfo {
    std::string type;   // "ext4", "xfs", "vfat", "squashfs", "swap"
    std::string uuid;   // as blkid prints it ("" when the format has none)
    std::string label;  // raw, trailing spaces and NULs trimmed
};
std::optional<FsInfo> probe_filesystem(const std::string& head);

// The unique partition GUIDs of a GPT disk ("" for an unused entry), index 0 =
// partition 1. Empty when `head` holds no valid GPT header (512- or 4096-byte sectors).
std::vector<std::string> gpt_partition_uuids(const std::string& head);

// A name as udev writes it in /dev/disk/by-label and by-uuid: bytes outside
// [0-9A-Za-z#+-.:=@_] become \xNN.
std::string udev_encode(const std::string& s);
// by-id serials as udev's whitespace and character replacement leaves them: cut at a
// NUL, trimmed, whitespace runs become one '_', other unsafe bytes each become '_'.
std::string udev_id_part(const std::string& s);

}  // namespace berth::init
