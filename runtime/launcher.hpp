// One OCI bundle to one isolated process. The same code path serves PID 1 (the
// supervisor) and command-line tools.
#pragma once
#include <sys/types.h>

#include <string>

#include "config/oci_spec.hpp"

namespace berth::runtime {

struct StdioFds {
    int in = -1, out = -1, err = -1;  // -1 means /dev/null
};

struct LaunchRequest {
    std::string id;                 // container name, used in errors
    std::string bundle_dir;         // absolute; rootfs path in spec is relative to it
    const oci::Spec* spec = nullptr;
    StdioFds stdio;
    std::string cgroup_path;        // absolute dir under /sys/fs/cgroup to create and join before exec; "" = none
};

struct Process {
    pid_t pid = -1;
    int pidfd = -1;  // from CLONE_PIDFD, caller owns it
};

// Starts the container process and returns once it has called execve.
// Throws berth::Error("container `id`: <step>: <reason>") carrying the errno of
// the failure; the child is then already reaped.
// Must be called from a single-threaded process (the child is a raw clone).
Process launch(const LaunchRequest& req);

}  // namespace berth::runtime
