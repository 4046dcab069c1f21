// OCI hooks: each one is a program run with the container's state JSON on
// its stdin, in order, each bounded by its timeout. Failing hooks fail the
// step they belong to.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

#include "config/oci_spec.hpp"

namespace berth::runtime {

// Used when a hook has no timeout: a hook must never hang PID 1 or the CLI.
inline constexpr int kDefaultHookTimeoutSeconds = 60;

// The runtime-spec state document ("status" is creating/created/running/stopped).
std::string hook_state_json(const oci::Spec& spec, const std::string& id, pid_t pid,
                            const std::string& bundle, const char* status);

// Runs hooks[i] one after another. `phase` names them in errors
// ("hooks.createRuntime[0] `/usr/bin/x`: exited with status 3").
// Must run in a single-threaded process: it forks and reaps its own children.
void run_hooks(const std::vector<oci::Hook>& hooks, const char* phase, const std::string& state_json);

}  // namespace berth::runtime
