#include "init/container_devices.hpp"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "init/module_index.hpp"

namespace berth::init {

using config::DeviceMatch;

namespace {

// "/sys/dev/block" + "../../devices/x/../y" -> "/sys/devices/y" (sysfs's links
// are relative and free of further links up to /sys).
std::string resolve_lexically(const std::string& dir, const std::string& rel) {
    std::vector<std::string> parts;
    auto push = [&](const std::string& path) {
        std::size_t i = 0;
        while (i <= path.size()) {
            std::size_t j = path.find('/', i);
            if (j == std::string::npos) j = path.size();
            std::string part = path.substr(i, j - i);
            if (part == "..") {
                if (!parts.empty()) parts.pop_back();
            } else if (!part.empty() && part != ".") {
                parts.push_back(part);
            }
            i = j + 1;
        }
    };
    if (rel.empty() || rel[0] != '/') push(dir);
    push(rel);
    std::string out;
    for (const auto& p : parts) out += "/" + p;
    return out.empty() ? "/" : out;
}

// "0x1af4\n" or "1af4\n" -> "1af4"; "" unless 4 hex digits.
std::string hex4(const std::optional<std::string>& text) {
    if (!text) return "";
    std::string t = fs::trim(*text);
    if (t.rfind("0x", 0) == 0) t = t.substr(2);
    return t.size() == 4 ? config::normalise_device_id(t + ":0000").substr(0, 4) : "";
}

bool same_node(const oci::Device& a, const oci::Device& b) { return a == b; }

}  // namespace

bool device_matches(const DeviceMatch& m, const DeviceNode& d) {
    auto any = [&](const std::vector<std::string>& list) {
        return std::any_of(list.begin(), list.end(), [&](const std::string& s) { return glob_match(m.pattern, s); });
    };
    switch (m.by) {
        case DeviceMatch::By::name: return glob_match(m.pattern, "/dev/" + d.name);
        case DeviceMatch::By::disk_link: return any(d.links);
        case DeviceMatch::By::modalias: return any(d.modaliases);
        case DeviceMatch::By::id: return std::find(d.ids.begin(), d.ids.end(), m.pattern) != d.ids.end();
    }
    return false;
}

std::optional<DeviceNode> describe_device(SysOps& sys, char type, unsigned major, unsigned minor,
                                          const std::string& sys_root) {
    const std::string dir = sys_root + (type == 'b' ? "/dev/block" : "/dev/char");
    const std::string base = dir + "/" + std::to_string(major) + ":" + std::to_string(minor);
    auto uevent = sys.read_file(base + "/uevent");
    if (!uevent) return std::nullopt;
    DeviceNode d;
    d.type = type;
    d.major = major;
    d.minor = minor;
    for (std::size_t at = 0; at < uevent->size();) {
        std::size_t end = uevent->find('\n', at);
        if (end == std::string::npos) end = uevent->size();
        if (uevent->compare(at, 8, "DEVNAME=") == 0) d.name = uevent->substr(at + 8, end - at - 8);
        at = end + 1;
    }
    // A name the kernel gives is relative to /dev and plain; anything else is not made.
    if (d.name.empty() || d.name[0] == '/' || d.name.find("..") != std::string::npos) return std::nullopt;
    auto link = sys.read_link(base);
    if (!link) return d;
    const std::string top = sys_root + "/devices";
    std::string real = resolve_lexically(dir, *link);
    // A virtual device (tty, mem, loop, ...) has no bus: no modalias, no ids.
    if (real.rfind(top + "/virtual/", 0) == 0) return d;
    for (std::string p = real; p.size() > top.size() && p.rfind(top + "/", 0) == 0;
         p = p.substr(0, p.rfind('/'))) {
        if (auto alias = sys.read_file(p + "/modalias")) {
            std::string a = fs::trim(*alias);
            if (!a.empty()) d.modaliases.push_back(a);
        }
        std::string v = hex4(sys.read_file(p + "/vendor")), dev = hex4(sys.read_file(p + "/device"));
        if (v.empty() || dev.empty()) {
            v = hex4(sys.read_file(p + "/idVendor"));
            dev = hex4(sys.read_file(p + "/idProduct"));
        }
        if (!v.empty() && !dev.empty()) d.ids.push_back(v + ":" + dev);
    }
    return d;
}

std::vector<oci::Device> granted_nodes(const std::vector<DeviceMatch>& wanted,
                                       const std::map<std::string, DeviceNode>& present) {
    std::vector<oci::Device> out;
    for (const auto& [name, d] : present) {
        auto m = std::find_if(wanted.begin(), wanted.end(), [&](const DeviceMatch& w) { return device_matches(w, d); });
        if (m == wanted.end()) continue;
        oci::Device node;
        node.type = d.type;
        node.major = d.major;
        node.minor = d.minor;
        node.file_mode = m->mode;
        node.uid = m->uid;
        node.gid = m->gid;
        node.path = "/dev/" + d.name;
        out.push_back(node);
        for (const auto& link : d.links) {
            if (link.rfind("/dev/disk/", 0) != 0) continue;
            node.path = link;
            out.push_back(node);
        }
    }
    return out;
}

ContainerDevices::ContainerDevices(SysOps& sys, supervisor::EventLoop& loop, LinksOf links_of, Spawn spawn)
    : sys_(sys), loop_(loop), links_of_(std::move(links_of)), spawn_(std::move(spawn)) {}

ContainerDevices::~ContainerDevices() {
    for (auto& [c, h] : holders_)
        if (h.timer) loop_.cancel_timer(h.timer);
}

void ContainerDevices::scan_once() {
    if (scanned_) return;
    scanned_ = true;
    const std::int64_t t0 = sys_.now_ms();
    for (char type : {'b', 'c'}) {
        const std::string dir = type == 'b' ? "/sys/dev/block" : "/sys/dev/char";
        for (const auto& entry : sys_.list_dir(dir).value_or(std::vector<std::string>{})) {
            // "254:16" (no scanf: it would bring its locale code into PID 1)
            char* end = nullptr;
            unsigned long major = std::strtoul(entry.c_str(), &end, 10);
            if (*end != ':') continue;
            unsigned long minor = std::strtoul(end + 1, &end, 10);
            if (*end || major > 0xfff || minor > 0xfffff) continue;
            if (auto d = describe_device(sys_, type, unsigned(major), unsigned(minor))) {
                d->links = links_of_(d->name);
                present_[d->name] = std::move(*d);
            }
        }
    }
    log::info("devices for containers: {} device nodes known, {} ms", present_.size(), sys_.now_ms() - t0);
}

std::vector<oci::Device> ContainerDevices::at_launch(const supervisor::Container& c) {
    if (c.policy.devices.empty()) return {};
    scan_once();
    Holder& h = holders_[&c];
    h.pid = -1;  // a new run: its launch makes and allows these
    h.applied = granted_nodes(c.policy.devices, present_);
    return h.applied;
}

void ContainerDevices::started(const supervisor::Container& c) {
    auto it = holders_.find(&c);
    if (it == holders_.end()) return;
    it->second.pid = c.pid;
    reconcile(&c, it->second);  // what changed between the launch and now
}

void ContainerDevices::added(char type, unsigned major, unsigned minor) {
    if (!scanned_) return;  // no container asked for devices yet: the first one scans
    auto d = describe_device(sys_, type, major, minor);
    if (!d) return;
    d->links = links_of_(d->name);
    // A name now used by other numbers, or numbers now under another name.
    for (auto it = present_.begin(); it != present_.end();)
        it = it->second.type == type && it->second.major == major && it->second.minor == minor && it->first != d->name
                 ? present_.erase(it)
                 : std::next(it);
    auto old = present_.find(d->name);
    if (old != present_.end() && old->second == *d) return;
    present_[d->name] = std::move(*d);
    reconcile_all();
}

void ContainerDevices::removed(const std::string& name) {
    if (!scanned_ || !present_.erase(name)) return;
    reconcile_all();
}

void ContainerDevices::reconcile_all() {
    for (auto& [c, h] : holders_) reconcile(c, h);
}

void ContainerDevices::reconcile(const supervisor::Container* c, Holder& h) {
    if (h.helper > 0) {
        h.dirty = true;
        return;
    }
    // Only a run that started and still runs: a launch in progress gets the
    // changes at started(), an ended run gets a new list at its next launch.
    if (h.pid <= 0 || c->pid != h.pid || !c->alive() || !c->pidfd) return;
    std::vector<oci::Device> wanted = granted_nodes(c->policy.devices, present_);
    if (wanted == h.applied) return;
    DeviceGrantJob job;
    job.container = c->name;
    job.bundle = c->bundle;
    job.cgroup = c->cgroup;
    job.pidfd = c->pidfd.get();
    job.pid = c->pid;
    job.wanted = wanted;
    for (const auto& w : wanted)
        if (std::none_of(h.applied.begin(), h.applied.end(), [&](const oci::Device& a) { return same_node(a, w); }))
            job.add.push_back(w);
    for (const auto& a : h.applied)
        if (std::none_of(wanted.begin(), wanted.end(), [&](const oci::Device& w) { return w.path == a.path; }))
            job.remove.push_back(a.path);
    pid_t pid = spawn_(job);
    if (pid < 0) {
        log::error("container {}: devices: start the helper: {}", c->name, std::strerror(int(-pid)));
        return;  // tried again at the next device event
    }
    log::info("container {}: devices: {} node(s) to make, {} to remove (helper {})", c->name, job.add.size(),
              job.remove.size(), pid);
    h.helper = pid;
    h.applied = std::move(wanted);
    h.timer = loop_.add_timer(kHelperTimeoutMs, [this, c, pid] {
        auto it = holders_.find(c);
        if (it == holders_.end() || it->second.helper != pid) return;
        it->second.timer = 0;
        log::error("container {}: devices: helper {} still runs after {} ms, killing it", c->name, pid,
                   kHelperTimeoutMs);
        sys_.kill(pid, SIGKILL);  // not reaped yet (helper is set): still our process
    });
}

bool ContainerDevices::reaped(pid_t pid, int code, int status) {
    for (auto& [c, h] : holders_) {
        if (h.helper != pid) continue;
        h.helper = -1;
        if (h.timer) loop_.cancel_timer(h.timer);
        h.timer = 0;
        if (code != CLD_EXITED || status != 0) {
            log::error("container {}: devices: helper {} ended with {} {}", c->name, pid,
                       code == CLD_EXITED ? "status" : "signal", status);
            h.applied.clear();  // unknown now: the next change (not a retry loop) makes them all again
        }
        if (h.dirty) {
            h.dirty = false;
            reconcile(c, h);
        }
        return true;
    }
    return false;
}

}  // namespace berth::init
