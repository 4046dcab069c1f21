// Devices a running container declared by what they are (`devices: [{match}]`,
// config/device_match.hpp): when one appears (present at boot or plugged in
// later), its node is made in the container's /dev and allowed in the
// container's device cgroup; when it goes, both are undone. A container started
// while the device is present gets it at launch, before its program runs.
//
// PID 1 only decides. Each change is carried out by a short-lived helper
// process forked from PID 1: it replaces the container's BPF device program in
// one step (runtime::replace_device_filter) and then enters the container's
// mount namespace (setns on its pidfd) to make or remove the nodes. One helper
// at a time per container, killed if it takes longer than kHelperTimeoutMs; a
// change that comes while one runs is applied when it ends, from the state then.
#pragma once
#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/device_match.hpp"
#include "config/oci_spec.hpp"
#include "init/sys_ops.hpp"
#include "supervisor/container.hpp"
#include "supervisor/event_loop.hpp"

namespace berth::init {

// A device node of the kernel's, as a `match` sees it.
struct DeviceNode {
    std::string name;  // DEVNAME: "vdb", "input/event3"
    char type = 'b';   // 'b' or 'c'
    unsigned major = 0, minor = 0;
    std::vector<std::string> links;       // its /dev/disk links: "/dev/disk/by-id/virtio-data"
    std::vector<std::string> modaliases;  // its own and its parents', nearest first
    std::vector<std::string> ids;         // "1af4:1042": PCI vendor:device, USB idVendor:idProduct, of it and its parents
    bool operator==(const DeviceNode&) const = default;
};

bool device_matches(const config::DeviceMatch& m, const DeviceNode& d);

// The node of /sys/dev/block/MAJ:MIN (type 'b') or /sys/dev/char/MAJ:MIN with its
// parents' modaliases and ids; nullopt when sysfs does not know it or it has no
// name in /dev. Links are the caller's (PID 1's own /dev/disk links).
std::optional<DeviceNode> describe_device(SysOps& sys, char type, unsigned major, unsigned minor,
                                          const std::string& sys_root = "/sys");

// What one container is given: the nodes of the devices present that its
// declarations match (the first declaration that matches sets mode and owner),
// each at /dev/NAME and at each of its /dev/disk links.
std::vector<oci::Device> granted_nodes(const std::vector<config::DeviceMatch>& wanted,
                                       const std::map<std::string, DeviceNode>& present);

// One change for the helper to make in a running container.
struct DeviceGrantJob {
    std::string container, bundle, cgroup;
    int pidfd = -1;
    pid_t pid = -1;
    std::vector<oci::Device> wanted;  // everything it is to have: the device program is rebuilt from it
    std::vector<oci::Device> add;     // nodes to make
    std::vector<std::string> remove;  // node paths to remove
};

class ContainerDevices {
public:
    static constexpr int kHelperTimeoutMs = 10000;
    using LinksOf = std::function<std::vector<std::string>(const std::string& name)>;
    // Starts the helper process for a job; returns its pid, or -errno.
    using Spawn = std::function<pid_t(const DeviceGrantJob&)>;
    ContainerDevices(SysOps& sys, supervisor::EventLoop& loop, LinksOf links_of, Spawn spawn);
    ~ContainerDevices();

    // The launcher's hooks. at_launch: the nodes to add to the container's
    // linux.devices (its launch creates and allows them); started: it runs,
    // anything that changed since at_launch is applied; reaped: true for a helper.
    std::vector<oci::Device> at_launch(const supervisor::Container& c);
    void started(const supervisor::Container& c);
    bool reaped(pid_t pid, int code, int status);

    // From the uevents: a node appeared or changed (its links), or went.
    void added(char type, unsigned major, unsigned minor);
    void removed(const std::string& name);

    const std::map<std::string, DeviceNode>& present() const { return present_; }

private:
    struct Holder {
        pid_t pid = -1;                      // the container's process the grants are for
        std::vector<oci::Device> applied;    // what it has (or what the running helper gives it)
        pid_t helper = -1;
        bool dirty = false;                  // a change came while the helper ran
        supervisor::EventLoop::TimerId timer = 0;
    };
    void scan_once();
    void reconcile_all();
    void reconcile(const supervisor::Container* c, Holder& h);

    SysOps& sys_;
    supervisor::EventLoop& loop_;
    LinksOf links_of_;
    Spawn spawn_;
    bool scanned_ = false;  // present_ is kept from the first container that declares devices on
    std::map<std::string, DeviceNode> present_;
    std::map<const supervisor::Container*, Holder> holders_;
};

}  // namespace berth::init
