// Unix-domain socket helpers shared by the control socket, the notify sockets,
// the console socket and the launch report: one place that checks a path fits
// sun_path, one that passes a descriptor with SCM_RIGHTS and one that receives
// a message with its descriptor and sender credentials.
#pragma once
#include <sys/socket.h>
#include <sys/un.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/fs.hpp"

namespace berth::unix_socket {

// The address of `path`; throws berth::Error (ENAMETOOLONG) naming `what` and
// the path when it does not fit.
sockaddr_un address(const std::string& path, std::string_view what);

// The most descriptors one message carries (the kernel's SCM_MAX_FD).
inline constexpr size_t kMaxFdsPerMessage = 253;

// Sends `data` in one message with `fd` attached (SCM_RIGHTS) unless fd < 0;
// retried on EINTR. Returns sendmsg's result (-1 with errno on failure).
ssize_t send_with_fd(int sock, std::string_view data, int fd);
// The same with `count` descriptors (at most kMaxFdsPerMessage) and sendmsg
// flags added to MSG_NOSIGNAL (MSG_DONTWAIT).
ssize_t send_with_fds(int sock, std::string_view data, const int* fds, size_t count, int flags);

// One message read by receive().
struct Received {
    ssize_t bytes = -1;   // recvmsg's result: -1 with errno on failure, 0 at end
    fs::Fd fd;            // the first SCM_RIGHTS descriptor (close-on-exec), if any
    pid_t sender = 0;     // SCM_CREDENTIALS pid (needs SO_PASSCRED), 0 if none
    bool data_truncated = false;     // MSG_TRUNC: the message was longer than buf
    bool control_truncated = false;  // MSG_CTRUNC: descriptors or credentials were dropped
};

// Reads one message into buf without blocking (MSG_DONTWAIT), retried on
// EINTR. Of the descriptors that arrive, the first is kept and every other
// one is closed, so a sender cannot make the receiver leak descriptors.
Received receive(int sock, char* buf, size_t size);

// One message read by receive_all().
struct ReceivedAll {
    ssize_t bytes = -1;         // as Received::bytes
    std::vector<int> fds;       // every SCM_RIGHTS descriptor (close-on-exec), none closed
    pid_t sender = 0;           // SCM_CREDENTIALS pid (needs SO_PASSCRED), 0 if none
};

// For messages from a sender PID 1 does not trust: reads one message (without
// blocking unless `wait`) with room for every descriptor a message can carry,
// so that the kernel drops none (a dropped descriptor is released, perhaps for
// the last time, in the receiver) and hands them all to the caller to dispose of.
ReceivedAll receive_all(int sock, char* buf, size_t size, bool wait = false);

}  // namespace berth::unix_socket
