// PID 1's own choice of nettle's SHA-256 block function (x86-64): linked into
// this test binary, it is what berth::digest::sha256_hex hashes with here.
#include <cpuid.h>

#include <cstdint>
#include <cstring>
#include <string>

#include <catch2/catch.hpp>

#include "common/sha256.hpp"

extern "C" {
void _nettle_sha256_compress(uint32_t* state, const uint8_t* input, const uint32_t* k);
void _nettle_sha256_compress_x86_64(uint32_t* state, const uint8_t* input, const uint32_t* k);
void _nettle_sha256_compress_sha_ni(uint32_t* state, const uint8_t* input, const uint32_t* k);
}

TEST_CASE("SHA-256 through PID 1's block function matches the standard digests", "[sha256][pid1]") {
    using berth::digest::sha256_hex;
    std::string bytes;
    for (int i = 0; i < 1024; ++i) bytes += char(i % 256);
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256_hex(std::string(55, 'a')) == "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    CHECK(sha256_hex(std::string(56, 'a')) == "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    CHECK(sha256_hex(std::string(64, 'a')) == "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
    CHECK(sha256_hex(bytes) == "785b0751fc2c53dc14a4ce3d800e69ef9ce1009eb327ccf458afe09c242c26c9");
    CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("PID 1's SHA-256 block function gives what both nettle implementations give", "[sha256][pid1]") {
    // Round constants (FIPS 180-4, 4.2.2) and the initial state (5.3.3).
    static const uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    uint8_t block[64];
    for (int i = 0; i < 64; ++i) block[i] = uint8_t(i * 37 + 11);

    uint32_t chosen[8], assembly[8];
    std::memcpy(chosen, initial, sizeof chosen);
    std::memcpy(assembly, initial, sizeof assembly);
    _nettle_sha256_compress(chosen, block, k);
    _nettle_sha256_compress_x86_64(assembly, block, k);
    CHECK(std::memcmp(chosen, assembly, sizeof chosen) == 0);
    CHECK(std::memcmp(chosen, initial, sizeof chosen) != 0);

    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (ebx & bit_SHA) != 0) {
        uint32_t extensions[8];
        std::memcpy(extensions, initial, sizeof extensions);
        _nettle_sha256_compress_sha_ni(extensions, block, k);
        CHECK(std::memcmp(chosen, extensions, sizeof chosen) == 0);
    }
}
