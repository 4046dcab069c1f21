// SHA-256's block function for the static PID 1 on x86-64, chosen the way
// nettle's own "fat" build chooses it: the SHA extensions when the processor
// has them, nettle's x86-64 assembly otherwise. nettle defines this function
// in the member that dispatches all of its accelerated code (AES, GCM, SHA-1,
// memxor); PID 1 only hashes with SHA-256, and defining the dispatcher here
// keeps that member and about 29 KB of ciphers it pulls in out of the link.
#include <cpuid.h>

#include <cstdint>

extern "C" {
// nettle's two implementations (its sha256-compress archive members).
void _nettle_sha256_compress_x86_64(uint32_t* state, const uint8_t* input, const uint32_t* k);
void _nettle_sha256_compress_sha_ni(uint32_t* state, const uint8_t* input, const uint32_t* k);
}

namespace {

using CompressFunction = void (*)(uint32_t*, const uint8_t*, const uint32_t*);

// CPUID leaf 7, sub-leaf 0, EBX bit 29: the SHA extensions.
bool processor_has_sha_extensions() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
    return (ebx & bit_SHA) != 0;
}

CompressFunction chosen_compress() {
    return processor_has_sha_extensions() ? _nettle_sha256_compress_sha_ni : _nettle_sha256_compress_x86_64;
}

}  // namespace

extern "C" void _nettle_sha256_compress(uint32_t* state, const uint8_t* input, const uint32_t* k) {
    static const CompressFunction compress = chosen_compress();
    compress(state, input, k);
}
