#include "common/clock.hpp"

#include <time.h>

namespace berth::clock {

// CLOCK_MONOTONIC cannot fail with a valid clock id and buffer.
std::uint64_t monotonic_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::uint64_t(ts.tv_sec) * 1000000000ull + std::uint64_t(ts.tv_nsec);
}

std::int64_t monotonic_ms() { return std::int64_t(monotonic_ns() / 1000000); }

}  // namespace berth::clock
