// Where PID 1 closes descriptors that a service sent it uninvited (SCM_RIGHTS on
// a NOTIFY_SOCKET). The last close of a file runs the file's release in the
// closing process, and some releases wait as long as the sender chose: a TCP
// socket with SO_LINGER set and a full send queue, a file on a hung network
// file system. So PID 1 never makes that last close: it passes the descriptors
// to a child process of its own, the sink, and closes only its copies while
// they are in flight, which releases nothing. A blocked sink blocks no one.
// (Kernels from 6.16 refuse descriptors on the socket at once, SO_PASSRIGHTS.)
#pragma once
#include <sys/types.h>

#include <cstddef>
#include <vector>

#include "common/fs.hpp"

namespace berth::supervisor {

class FdSink {
public:
    FdSink() = default;
    FdSink(const FdSink&) = delete;
    FdSink& operator=(const FdSink&) = delete;
    ~FdSink();  // closes its end: the sink ends once it has closed what it holds

    // Takes `fds`: each is closed in the sink, never by the caller. Never blocks.
    void dispose(const std::vector<int>& fds) noexcept;
    // Passes what is still held to the sink; false when some is still held
    // (the sink's queue is full, or no sink could be started).
    bool flush() noexcept;
    std::size_t held() const { return held_.size(); }
    pid_t pid() const { return pid_; }  // the current sink, 0 before the first

private:
    bool start() noexcept;

    fs::Fd sock_;             // SOCK_SEQPACKET to the sink: messages, and its end of file
    pid_t pid_ = 0;
    int starts_ = 0;          // a sink that keeps dying is not restarted for ever
    std::vector<int> held_;   // not yet in flight to the sink
};

// Turns off receiving descriptors on `sock` where the kernel can (SO_PASSRIGHTS,
// Linux 6.16): senders then get EPERM. false on older kernels.
bool refuse_passed_descriptors(int sock) noexcept;

}  // namespace berth::supervisor
