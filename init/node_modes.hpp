// Modes and groups of the kernel's device nodes, as udev's default rules set
// them on Debian (the table is config/device_modes.hpp): applied by PID 1 to
// the nodes present after coldplug and to each node a later `add` event names.
// Each node is one bounded chown+chmod; a failure is logged, never fatal.
#pragma once
#include <sys/types.h>

#include <map>
#include <optional>
#include <string>

#include "init/sys_ops.hpp"

namespace berth::init {

struct NodeMode {
    mode_t mode = 0;
    gid_t gid = 0;
};

// The image's /etc/group as name -> gid (what runtime::parse_group reads).
using GroupIds = std::map<std::string, gid_t>;

// The rule for a node ("tty", "ttyS0"; DEVNAME as in a uevent, "net/tun"), its
// group resolved through `groups`, else Debian's fixed ids, else root (the
// mode still applies). nullopt: no rule, devtmpfs's own mode stays.
std::optional<NodeMode> node_mode_for(const std::string& subsystem, const std::string& devname,
                                      const GroupIds& groups);

class NodeModes {
public:
    NodeModes(SysOps& sys, GroupIds groups, std::string dev = "/dev", std::string sys_root = "/sys")
        : sys_(sys), groups_(std::move(groups)), dev_(std::move(dev)), sys_root_(std::move(sys_root)) {}

    // Whether this PID 1 is the machine's: kernel threads (kthreadd is pid 2)
    // are seen in the initial pid namespace only. A PID 1 in a pid namespace
    // (a test, a container) shares the host's devtmpfs, whose modes are the
    // host's to set: there it sets none.
    static bool machine_init(SysOps& sys);

    struct Stats {
        int set = 0, failed = 0;
    };
    // Every node the kernel has now (/sys/dev/char and /sys/dev/block: each
    // entry's uevent for DEVNAME, its `subsystem` link for the subsystem; for a
    // class device with no parent whose nodes bear its own name, its link).
    Stats scan();
    // One node from an `add` event (SUBSYSTEM, DEVNAME); false when it failed.
    bool added(const std::string& subsystem, const std::string& devname);

private:
    bool apply(const std::string& devname, const NodeMode& m);  // false: it failed

    SysOps& sys_;
    GroupIds groups_;
    std::string dev_, sys_root_;
};

}  // namespace berth::init
