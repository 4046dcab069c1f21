// The kernel's device events (NETLINK_KOBJECT_UEVENT): one datagram per event,
// "ACTION@DEVPATH\0KEY=VALUE\0...". PID 1 reads them non-blocking from its event
// loop and loads the modules of devices that appear after boot.
#pragma once
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace berth::init {

struct Uevent {
    std::string action;   // "add", "remove", "change", "bind", ...
    std::string devpath;  // "/devices/pci0000:00/0000:00:05.0"
    std::map<std::string, std::string> env;  // MODALIAS, SUBSYSTEM, DEVNAME, DEVTYPE, ...
    std::string get(const std::string& key) const {
        auto it = env.find(key);
        return it == env.end() ? std::string() : it->second;
    }
};

// Any bytes: nullopt for what is not a kernel uevent (udev's "libudev" messages,
// no '@' header, an ACTION that disagrees with the header). At most 64 keys are
// kept; keys and values stop at the first NUL.
std::optional<Uevent> parse_uevent(const char* data, std::size_t size);

// The socket, bound to the kernel's multicast group. Owns the fd.
class UeventSocket {
public:
    UeventSocket();  // throws berth::Error with errno
    ~UeventSocket();
    UeventSocket(const UeventSocket&) = delete;
    UeventSocket& operator=(const UeventSocket&) = delete;
    int fd() const { return fd_; }
    // Reads up to `max_events` datagrams without blocking, calling `on_event` for
    // each one the kernel sent (sender port 0) that parses. Returns how many were
    // read; an overflowed buffer (ENOBUFS) is logged and reading goes on.
    int drain(int max_events, const std::function<void(const Uevent&)>& on_event);

private:
    int fd_ = -1;
};

}  // namespace berth::init
