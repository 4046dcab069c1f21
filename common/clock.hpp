// CLOCK_MONOTONIC readings for deadlines, timers and log stamps: one helper
// instead of a clock_gettime() wrapper in every module.
#pragma once
#include <cstdint>

namespace berth::clock {

std::int64_t monotonic_ms();
std::uint64_t monotonic_ns();

}  // namespace berth::clock
