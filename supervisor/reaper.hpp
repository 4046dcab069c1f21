// The one reaper in PID 1: collects every exited child and orphan, dispatching
// by pid. Called on SIGCHLD; loops because one SIGCHLD may stand for many exits.
#pragma once
#include <sys/types.h>

#include <functional>

namespace berth::supervisor {

// Calls on_exit(pid, si_code, si_status) for each reaped child; returns how many.
int reap_children(const std::function<void(pid_t, int, int)>& on_exit);

}  // namespace berth::supervisor
