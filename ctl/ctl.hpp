// The control CLI, inside the static PID 1 binary so that every image has it:
// `berth-init ctl CMD...`, or CMD... directly when invoked as `berth` or
// `berthctl`. Talks to PID 1 over its control socket.
#pragma once

namespace berth::ctl {

constexpr const char* kControlSocket = "/run/berth/control";

int ctl_main(int argc, char** argv);

// `exec NAME CMD...`: CMD in the running container's namespaces, cgroup,
// identity, capabilities and seccomp profile. Returns CMD's exit status.
int ctl_exec(const char* socket_path, int argc, char** argv);

}  // namespace berth::ctl
