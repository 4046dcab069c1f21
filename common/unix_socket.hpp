// Unix-domain socket helpers shared by the control socket, the notify sockets,
// the console socket and the launch report: one place that checks a path fits
// sun_path and one that passes a descriptor with SCM_RIGHTS.
#pragma once
#include <sys/un.h>

#include <string>
#include <string_view>

namespace berth::unix_socket {

// The address of `path`; throws berth::Error (ENAMETOOLONG) naming `what` and
// the path when it does not fit.
sockaddr_un address(const std::string& path, std::string_view what);

// Sends `data` in one message with `fd` attached (SCM_RIGHTS) unless fd < 0;
// retried on EINTR. Returns sendmsg's result (-1 with errno on failure).
ssize_t send_with_fd(int sock, std::string_view data, int fd);

}  // namespace berth::unix_socket
