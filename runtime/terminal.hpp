// process.terminal with the console socket protocol of runc: the container
// allocates a pty from its own /dev/pts, sends the master over the engine's
// unix socket (SCM_RIGHTS, the payload is the pty's name) and uses the slave
// as stdin, stdout, stderr and controlling terminal.
#pragma once
#include <optional>
#include <string>

#include "config/oci_spec.hpp"

namespace berth::runtime {

// Connects to the engine's socket; done before pivot_root, while its path is
// reachable.
int connect_console_socket(const std::string& path);

// Opens /dev/ptmx of the current root, sizes it, sends the master over
// `console` and returns the slave fd (CLOEXEC).
int open_pty_and_send_master(int console, const std::optional<oci::ConsoleSize>& size);

}  // namespace berth::runtime
