// One more process in a running container (`berth-runc exec`, `berth exec`):
// the container's spec turned into one that joins, never creates, so that the
// one launcher (launcher.hpp) starts it with the process fields applied by the
// same code as the container's own process: rlimits, umask, oomScoreAdj,
// setsid, fd closing, identity, capabilities, no_new_privs, seccomp.
#pragma once
#include <sys/types.h>

#include <string>

#include "config/oci_spec.hpp"

namespace berth::runtime {

// `container` with `process` as its process and every namespace of `target`
// joined: the ones the spec lists, and any other whose namespace differs from
// the caller's (a caller in another container still lands in the target's).
// Mounts, hooks, hostname, mappings, sysctl, masked paths and resources belong
// to the container and are not applied again.
oci::Spec exec_spec(const oci::Spec& container, oci::Process process, pid_t target);

// The cgroup v2 directory of `pid` ("/sys/fs/cgroup/berth/services/web"); ""
// when it has none (no cgroup2 mounted).
std::string cgroup_dir_of(pid_t pid);

}  // namespace berth::runtime
