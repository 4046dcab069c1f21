// A terminal for a foreground `run` or `exec` whose process.terminal is true
// and that was given no --console-socket: berth-runc takes the pty master
// itself, as runc does, and copies between it and its own stdin and stdout
// (`runc spec && runc run ID`, `runc exec -t ID sh` by hand).
#pragma once
#include <signal.h>
#include <sys/types.h>

#include <string>

#include "common/fs.hpp"

namespace berth::runc {

class ConsoleRelay {
public:
    // Listens on a socket of its own under `dir` (the state root).
    explicit ConsoleRelay(const std::string& dir);
    ~ConsoleRelay();
    ConsoleRelay(const ConsoleRelay&) = delete;
    ConsoleRelay& operator=(const ConsoleRelay&) = delete;

    // The path to give the launch as its console socket.
    const std::string& path() const { return path_; }

    // After the launch: takes the master (within 10 s), copies both ways with
    // the caller's terminal raw and its size passed on (and on SIGWINCH),
    // forwards the other signals of `forwarded` (blocked by the caller) to
    // `pid`, and returns its exit status once it has ended.
    int relay(pid_t pid, const sigset_t& forwarded);

private:
    std::string path_;
    fs::Fd listener_;
};

}  // namespace berth::runc
