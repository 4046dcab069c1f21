// The container side of launch(): runs in the freshly cloned process, sets
// everything up and execs. Never returns and never lets an exception escape:
// a failure is reported to the parent over `sock`, then _exit(127).
#pragma once
#include "runtime/idmap_mounts.hpp"
#include "runtime/launcher.hpp"
#include "runtime/seccomp.hpp"

namespace berth::runtime {

// `seccomp` is the compiled filter or nullptr when the spec has none;
// `idmapped` holds the detached trees of the idmapped mounts. With
// `wait_for_go` the child first blocks until the parent's go message (id maps,
// cgroup, runtime hooks done); without, the parent has nothing to do first and
// the child goes on at once, sparing a sleep and a wake-up.
[[noreturn]] void run_child(const LaunchRequest& req, const SeccompProgram* seccomp, const IdmappedTrees& idmapped,
                            int sock, bool wait_for_go) noexcept;

}  // namespace berth::runtime
