// Moves the freeing of a foreground container's mount namespace out of `run`.
#pragma once
#include <sys/types.h>

namespace berth::runc {

// The last reference to a mount namespace is dropped inside the exit of the
// task holding it, before its parent is told: when the container's process
// holds the last one, unmounting its whole tree (and the RCU grace period the
// kernel waits for) stands between the container's exit and `run`'s. This
// gives the namespace of `container` (our child, already running its
// program) a second holder: a small process that shares this one's memory,
// keeps only a descriptor of the namespace, and is killed by the kernel when
// this process exits (PR_SET_PDEATHSIG), so the namespace is freed after `run`
// has reported, and never outlives it by more than its own exit. Best effort:
// when anything fails the container's exit frees the namespace, as before.
void defer_mount_ns_release(pid_t container);

}  // namespace berth::runc
