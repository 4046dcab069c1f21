#include "common/sha256.hpp"

#include <nettle/sha2.h>

#include <cstdint>

namespace berth::digest {

std::string sha256_hex(std::string_view data) {
    sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, data.size(), reinterpret_cast<const std::uint8_t*>(data.data()));
    std::uint8_t d[SHA256_DIGEST_SIZE];
    sha256_digest(&ctx, sizeof d, d);
    static const char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * sizeof d);
    for (std::uint8_t b : d) {
        out += kHex[b >> 4];
        out += kHex[b & 15];
    }
    return out;
}

}  // namespace berth::digest
