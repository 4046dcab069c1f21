// Waiting for one child of our own: the EINTR loop every module wrote anew.
#pragma once
#include <sys/types.h>

#include <optional>

namespace berth::proc {

// Blocks until `pid` exits and reaps it; its wait status, or -1 with errno set
// (ECHILD: not a child of ours). Only for children known to exit promptly.
int wait_exit(pid_t pid);

// Reaps `pid` if it has exited: its wait status, nullopt while it runs.
// Throws berth::Error with errno when waitpid() fails.
std::optional<int> try_reap(pid_t pid);

}  // namespace berth::proc
