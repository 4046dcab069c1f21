// One OCI bundle to one isolated process. The same code path serves PID 1 (the
// supervisor) and command-line tools.
#pragma once
#include <sys/types.h>

#include <functional>
#include <string>

#include "config/oci_spec.hpp"

namespace berth::runtime {

class ContainerCgroup;

struct StdioFds {
    int in = -1, out = -1, err = -1;  // -1 means /dev/null
};

struct LaunchRequest {
    std::string id;                 // container name, used in errors
    std::string bundle_dir;         // absolute; rootfs path in spec is relative to it
    const oci::Spec* spec = nullptr;
    StdioFds stdio;
    std::string cgroup_path;        // absolute cgroup v2 dir to create and join before exec; "" = none
    // Instead of cgroup_path: the container's cgroup on any host kind (see
    // cgroup.hpp), entered with linux.resources before the process runs.
    const ContainerCgroup* cgroup = nullptr;
    // The runc-style create/start split: an fd (O_PATH is enough) of a FIFO.
    // The process finishes its setup, then launch() returns and the process
    // parks until someone opens the FIFO for reading; errors after that point
    // go to the container's stderr. Needs /proc inside the container.
    int exec_fifo_fd = -1;
    int preserve_fds = 0;           // extra fds 3..3+N-1 passed on to the container
    // With process.terminal: the engine's unix socket that receives the pty
    // master (runc's --console-socket); the pty then replaces `stdio`.
    std::string console_socket;
    // Directory of compiled seccomp programs shared by launches (see
    // seccomp_cache.hpp); "" = this process's memory only.
    std::string seccomp_cache_dir;
    // Log (info) when the seccomp profile is compiled rather than taken from
    // the bundle's precompiled program: PID 1, whose boot should compile none.
    bool log_seccomp_compile = false;
    // The launch adds a process to a running container (runc's `exec`):
    // process.execCPUAffinity applies (the spec leaves the init process out).
    bool exec = false;
    // Runs once the checks that read only the bundle (seccomp program, LSM
    // fields) are done and before anything reads or changes the host's mounts
    // or makes the process: PID 1 holds a start prepared ahead here until its
    // turn. Empty: nothing to wait for.
    std::function<void()> before_host_steps;
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
