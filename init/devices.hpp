// PID 1's device handling, one object: the uevent socket opened first (no event
// between the scan and the loop is lost), then coldplug (modules for the devices
// present), the modes and groups of the nodes and the /dev/disk links; afterwards each kernel event is handled from
// the event loop, a bounded batch per wake-up.
#pragma once
#include <memory>
#include <optional>

#include "init/coldplug.hpp"
#include "init/container_devices.hpp"
#include "init/disk_links.hpp"
#include "init/node_modes.hpp"
#include "init/sys_ops.hpp"
#include "init/uevent.hpp"
#include "supervisor/event_loop.hpp"

namespace berth::init {

class Devices {
public:
    // Never throws: without a uevent socket or module index the rest still runs.
    // `spawn` starts the helper that gives a running container its devices
    // (device_grant.hpp); without it containers get theirs at launch only.
    Devices(SysOps& sys, supervisor::EventLoop& loop, ContainerDevices::Spawn spawn = nullptr);
    ~Devices();
    // What one event changes (exposed for tests).
    void handle(const Uevent& ev);
    const ColdplugStats& stats() const { return stats_; }
    // The devices containers declared (`devices: [{match}]`): the launcher's hooks.
    ContainerDevices& containers() { return containers_; }

private:
    supervisor::EventLoop& loop_;
    std::optional<DeviceModules> modules_;
    DiskLinks disks_;
    NodeModes modes_;
    bool set_modes_ = false;  // NodeModes::machine_init
    ContainerDevices containers_;
    std::unique_ptr<UeventSocket> socket_;
    ColdplugStats stats_;
};

// For tests: the same, with no socket and no loop.
void handle_uevent(const Uevent& ev, DeviceModules* modules, DiskLinks& disks, ColdplugStats& stats,
                   ContainerDevices* containers = nullptr, NodeModes* modes = nullptr);

// The image's /etc/group as NodeModes wants it (empty when there is none).
GroupIds image_groups(SysOps& sys);

}  // namespace berth::init
