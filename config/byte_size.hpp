#pragma once
// Sizes in bytes as people write them, one grammar for every place berth reads
// one: YAML (`log.maxSize`), berth's flags (`--mem 1G`, `--disk size=64M`) and
// berth-runc's (`update --memory 64m`, as runc and docker read them).
#include <cstdint>
#include <string_view>

namespace berth::config {

// A number, optionally with a decimal fraction, then optionally a unit, case
// not significant: B, K, M, G, T or P, each alone or followed by B or iB, all
// powers of 1024 ("512KiB", "1G", "64m", "1.5gb", "4096"). The result must be a
// whole number of bytes. Throws Error (EINVAL) saying what is wrong with `text`.
std::uint64_t parse_byte_size(std::string_view text);

}  // namespace berth::config
