#include "init/devices.hpp"

#include <sys/epoll.h>

#include <cerrno>
#include <cstdlib>

#include "common/log.hpp"
#include "runtime/user.hpp"

namespace berth::init {

// Events per wake-up: the loop turns between batches (level-triggered, the rest
// waits in the socket buffer).
constexpr int kEventsPerWakeup = 32;

namespace {

// A device node's numbers from its event; false for an event without a node.
bool node_numbers(const Uevent& ev, unsigned& major, unsigned& minor) {
    std::string ma = ev.get("MAJOR"), mi = ev.get("MINOR");
    if (ma.empty() || mi.empty() || ev.get("DEVNAME").empty()) return false;
    char* end = nullptr;
    unsigned long a = std::strtoul(ma.c_str(), &end, 10);
    if (*end) return false;
    unsigned long b = std::strtoul(mi.c_str(), &end, 10);
    if (*end || a > 0xfff || b > 0xfffff) return false;
    major = unsigned(a);
    minor = unsigned(b);
    return true;
}

}  // namespace

GroupIds image_groups(SysOps& sys) {
    GroupIds out;
    if (auto text = sys.read_file("/etc/group"))
        for (const auto& g : runtime::parse_group(*text)) out.emplace(g.name, g.gid);  // the first line wins, as getgrnam
    return out;
}

void handle_uevent(const Uevent& ev, DeviceModules* modules, DiskLinks& disks, ColdplugStats& stats,
                   ContainerDevices* containers, NodeModes* modes) {
    if (ev.action == "add" && modules) {
        std::string alias = ev.get("MODALIAS");
        if (!alias.empty()) modules->load_for(alias, stats);
    }
    const bool block = ev.get("SUBSYSTEM") == "block";
    std::string name = ev.get("DEVNAME");
    if (name.rfind("/dev/", 0) == 0) name = name.substr(5);
    // Before the links and the containers: a program that sees the node sees its mode.
    if (ev.action == "add" && modes && !name.empty()) modes->added(ev.get("SUBSYSTEM"), name);
    if (block) {
        std::string disk = name.empty() ? ev.devpath.substr(ev.devpath.rfind('/') + 1) : name;
        if (ev.action == "add") disks.added(disk);
        else if (ev.action == "remove") disks.removed(disk);
        else if (ev.action == "change") disks.changed(disk);
    }
    // After the links: a container may ask for the device by one of them.
    unsigned major = 0, minor = 0;
    if (!containers || !node_numbers(ev, major, minor)) return;
    if (ev.action == "add" || ev.action == "change") containers->added(block ? 'b' : 'c', major, minor);
    else if (ev.action == "remove") containers->removed(name);
}

Devices::Devices(SysOps& sys, supervisor::EventLoop& loop, ContainerDevices::Spawn spawn)
    : loop_(loop),
      disks_(sys),
      modes_(sys, image_groups(sys)),
      containers_(sys, loop, [this](const std::string& name) {
          std::vector<std::string> out;
          for (const auto& l : disks_.links_of(name)) out.push_back("/dev/disk/" + l);
          return out;
      }, spawn ? std::move(spawn) : ContainerDevices::Spawn([](const DeviceGrantJob&) { return pid_t(-ENOSYS); })) {
    // Each step on its own: a failure (even std::bad_alloc) costs that step only,
    // never the boot (this runs inside PID 1's setup, whose failure is an emergency).
    try {
        socket_ = std::make_unique<UeventSocket>();
    } catch (const std::exception& e) {
        log::error("{}; devices added later get no modules or disk links", e.what());
    }
    try {
        std::int64_t t0 = sys.now_ms();
        if (auto m = DeviceModules::open(sys)) modules_.emplace(std::move(*m));
        if (modules_) {
            stats_ = modules_->coldplug();
            log::info("coldplug: {} devices, {} modules loaded ({} failed) of {} known, {} passes, {} ms",
                      stats_.devices, stats_.modules_loaded, stats_.modules_failed, modules_->index().module_count(),
                      stats_.passes, sys.now_ms() - t0);
        } else {
            log::info("coldplug: the image has no modules.alias for this kernel");
        }
    } catch (const std::exception& e) {
        log::error("coldplug: {}", e.what());
    }
    try {
        std::int64_t t0 = sys.now_ms();
        set_modes_ = NodeModes::machine_init(sys);
        if (set_modes_) {
            auto st = modes_.scan();
            log::info("device nodes: {} modes and groups set ({} failed), {} ms", st.set, st.failed, sys.now_ms() - t0);
        } else {
            log::info("device nodes: in a pid namespace, /dev is the host's: its modes are left alone");
        }
    } catch (const std::exception& e) {
        log::error("device node modes: {}", e.what());
    }
    try {
        disks_.scan();
    } catch (const std::exception& e) {
        log::error("/dev/disk links: {}", e.what());
    }
    if (!socket_) return;
    try {
        loop_.watch(socket_->fd(), EPOLLIN, [this](std::uint32_t) {
            socket_->drain(kEventsPerWakeup, [this](const Uevent& ev) {
                try {
                    handle(ev);
                } catch (const std::exception& e) {
                    log::error("device event {} {}: {}", ev.action, ev.devpath, e.what());
                }
            });
        });
    } catch (const std::exception& e) {
        log::error("{}; devices added later get no modules or disk links", e.what());
        socket_.reset();
    }
}

Devices::~Devices() {
    if (socket_) loop_.unwatch(socket_->fd());
}

void Devices::handle(const Uevent& ev) {
    handle_uevent(ev, modules_ ? &*modules_ : nullptr, disks_, stats_, &containers_, set_modes_ ? &modes_ : nullptr);
}

}  // namespace berth::init
