// LinuxKit's runtime.json `interfaces`: network interfaces put into a
// container's network namespace after its setup and before its program starts
// (the container waits on its exec FIFO meanwhile), over rtnetlink.
// Runs in the launch process, never in PID 1's loop: netlink calls block.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

#include "config/runtime_config.hpp"

namespace berth::init {

// For each entry, in order (see config::RuntimeInterface):
//  - veth: the pair is created in one request, `name` in the namespace of
//    /proc/PID/ns/net and `peer` in the caller's (the root) namespace;
//  - another kind: created in the container's namespace, or created in the
//    root namespace and then moved when create_in_root (removed again if the
//    move fails);
//  - no kind: the root namespace's interface `name` is moved.
// Interfaces are left down, as LinuxKit leaves them. Throws berth::Error naming
// `where` (the runtime.json), the entry, the interface and the errno; entries
// done before a failure stay (they go with the container's namespace).
void set_up_interfaces(const std::vector<config::RuntimeInterface>& interfaces, pid_t pid, const std::string& where);

}  // namespace berth::init
