// The control CLI, inside the static PID 1 binary so that every image has it:
// `berth-init ctl CMD...`, or CMD... directly when invoked as `berth` or
// `berthctl`. Talks to PID 1 over its control socket.
#pragma once
#include <string>
#include <vector>

#include "common/control_protocol.hpp"

namespace berth::ctl {

constexpr const char* kControlSocket = control::kSocketPath;

int ctl_main(int argc, char** argv);

// `exec NAME CMD...`: CMD in the running container's namespaces, cgroup,
// identity, capabilities and seccomp profile. Returns CMD's exit status.
int ctl_exec(const char* socket_path, int argc, char** argv);

// `update status|apply FILE|rollback` on an A/B image (ctl/update_cmd.cpp), in
// the program of its own A/B images carry (ctl/update_main.cpp); `berth update`
// runs that program.
constexpr const char* kUpdateProgram = "/usr/lib/berth/berth-update";
int update_main(const std::string& socket, long long timeout_ms, const std::vector<std::string>& args);

}  // namespace berth::ctl
