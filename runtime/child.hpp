// The container side of launch(): runs in the freshly cloned process, sets
// everything up and execs. Never returns and never lets an exception escape:
// a failure is reported to the parent over `sock`, then _exit(127).
#pragma once
#include "runtime/launcher.hpp"

namespace berth::runtime {

[[noreturn]] void run_child(const LaunchRequest& req, int sock) noexcept;

}  // namespace berth::runtime
