// LinuxKit's runtime.json `bindNS`: a container's namespaces bound to paths
// (`bindNS: {net: /run/netns/wg}`) so that later containers join them by path
// (`net: /run/netns/wg`). The binds are made in the launch process between the
// container's setup and the start of its program (it waits on an exec FIFO),
// so that even an onboot container that exits at once leaves them behind.
#pragma once
#include <sys/types.h>

#include <map>
#include <string>

namespace berth::init {

// Binds /proc/PID/ns/TYPE onto each path, creating the file and its parent
// directories; an earlier bind there (a restart) is detached first. Throws
// berth::Error naming `where`, the namespace, the path and the errno.
void bind_namespaces(const std::map<std::string, std::string>& binds, pid_t pid, const std::string& where);

// Lets a container parked on its exec FIFO start: opens the FIFO for reading
// and waits, at most timeout_ms, for the byte its process writes. Throws when
// the process exits first (pidfd readable) or the wait times out.
void release_parked(const std::string& fifo_path, int pidfd, const std::string& name, int timeout_ms = 10000);

}  // namespace berth::init
