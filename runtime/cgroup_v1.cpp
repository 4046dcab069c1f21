// cgroup v1 back-end, also for hybrid hosts: the container gets the same path
// in every v1 hierarchy (named ones such as name=systemd too) and in the
// unified cgroup2 mount when there is one; each limit goes to the v1
// controller that has it, or to the unified hierarchy when only that has it.
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <charconv>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/text.hpp"
#include "common/log.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/device_filter.hpp"
#include "runtime/sysfile.hpp"

namespace berth::runtime {

namespace {
std::string dev(std::int64_t major, std::int64_t minor) { return fmt::format("{}:{}", major, minor); }

std::string rule_line(const oci::DeviceRule& d) {
    auto num = [](const std::optional<std::int64_t>& v) {
        return !v || *v < 0 ? std::string("*") : std::to_string(*v);
    };
    return fmt::format("{} {}:{} {}", d.type, num(d.major), num(d.minor), d.access);
}
}  // namespace

std::vector<V1Write> cgroup_v1_writes(const oci::Resources& r, const std::vector<oci::Device>& nodes) {
    std::vector<V1Write> out;
    auto add = [&](const char* controller, std::string file, std::string value) {
        out.push_back({controller, std::move(file), std::move(value)});
    };
    if (r.cpu) {
        const auto& c = *r.cpu;
        // cpuset first: a cpuset cgroup without cpus and mems takes no task.
        if (!c.cpus.empty()) add("cpuset", "cpuset.cpus", c.cpus);
        if (!c.mems.empty()) add("cpuset", "cpuset.mems", c.mems);
        if (c.shares) add("cpu", "cpu.shares", std::to_string(*c.shares));
        if (c.period) add("cpu", "cpu.cfs_period_us", std::to_string(*c.period));
        if (c.quota) add("cpu", "cpu.cfs_quota_us", std::to_string(*c.quota > 0 ? *c.quota : -1));
        if (c.burst) add("cpu", "cpu.cfs_burst_us", std::to_string(*c.burst));
        if (c.realtime_period) add("cpu", "cpu.rt_period_us", std::to_string(*c.realtime_period));
        if (c.realtime_runtime) add("cpu", "cpu.rt_runtime_us", std::to_string(*c.realtime_runtime));
        if (c.idle) add("cpu", "cpu.idle", std::to_string(*c.idle));
    }
    if (r.memory) {
        const auto& m = *r.memory;
        if (m.limit) add("memory", "memory.limit_in_bytes", std::to_string(*m.limit));
        if (m.swap) add("memory", "memory.memsw.limit_in_bytes", std::to_string(*m.swap));
        if (m.reservation) add("memory", "memory.soft_limit_in_bytes", std::to_string(*m.reservation));
        if (m.swappiness) add("memory", "memory.swappiness", std::to_string(*m.swappiness));
        if (m.disable_oom_killer) add("memory", "memory.oom_control", "1");
    }
    if (r.pids) add("pids", "pids.max", r.pids->limit > 0 ? std::to_string(r.pids->limit) : "max");
    if (r.block_io) {
        const auto& b = *r.block_io;
        if (b.weight) add("blkio", "blkio.weight", std::to_string(*b.weight));
        if (b.leaf_weight) add("blkio", "blkio.leaf_weight", std::to_string(*b.leaf_weight));
        for (const auto& d : b.weight_device) {
            if (d.weight) add("blkio", "blkio.weight_device", fmt::format("{} {}", dev(d.major, d.minor), *d.weight));
            if (d.leaf_weight)
                add("blkio", "blkio.leaf_weight_device", fmt::format("{} {}", dev(d.major, d.minor), *d.leaf_weight));
        }
        auto throttle = [&](const std::vector<oci::BlockIODevice>& list, const char* file) {
            for (const auto& d : list) add("blkio", file, fmt::format("{} {}", dev(d.major, d.minor), d.rate));
        };
        throttle(b.throttle_read_bps, "blkio.throttle.read_bps_device");
        throttle(b.throttle_write_bps, "blkio.throttle.write_bps_device");
        throttle(b.throttle_read_iops, "blkio.throttle.read_iops_device");
        throttle(b.throttle_write_iops, "blkio.throttle.write_iops_device");
    }
    for (const auto& h : r.hugepage_limits)
        add("hugetlb", "hugetlb." + h.page_size + ".limit_in_bytes", std::to_string(h.limit));
    if (r.network) {
        if (r.network->class_id) add("net_cls", "net_cls.classid", std::to_string(*r.network->class_id));
        for (const auto& [name, prio] : r.network->priorities)
            add("net_prio", "net_prio.ifpriomap", fmt::format("{} {}", name, prio));
    }
    // The allow list, as runc writes it: each rule in order, so the usual
    // leading deny-all empties the list and the allows that follow refill it.
    if (!r.devices.empty())
        for (const auto& d : device_rules_with_defaults(r.devices, nodes))
            add("devices", d.allow ? "devices.allow" : "devices.deny", rule_line(d));
    return out;
}

namespace {

// "No limit" needs no controller; anything else does.
bool is_no_limit(const V1Write& w) {
    return w.value == "max" || w.value == "-1" || (w.file == "memory.oom_control" && w.value == "0");
}

// The same limit in the unified hierarchy, for a controller only cgroup2 has
// on this host (a hybrid host's hugetlb, for one); "" when there is none.
std::string unified_file(const V1Write& w) {
    if (w.controller == "hugetlb") {
        const std::string suffix = ".limit_in_bytes";
        return w.file.substr(0, w.file.size() - suffix.size()) + ".max";
    }
    if (w.controller == "pids" || w.controller == "cpuset") return w.file;
    return "";
}

bool unified_has(const std::string& unified_root, const std::string& controller) {
    auto text = fs::try_read_file(fs::join(unified_root, "cgroup.controllers"));
    if (!text) return false;
    std::string word;
    for (char ch : *text + " ") {
        if (ch == ' ' || ch == '\n') {
            if (word == controller) return true;
            word.clear();
        } else {
            word += ch;
        }
    }
    return false;
}

void sleep_ms(int ms) {
    timespec ts{ms / 1000, (ms % 1000) * 1000000L};
    ::nanosleep(&ts, nullptr);
}

class CgroupV1 final : public ContainerCgroup {
public:
    CgroupV1(const CgroupHost& host, std::string path) : host_(host), path_(std::move(path)) {}

    fs::Fd prepare(const oci::Linux& l, const oci::Resources* resources) const override {
        for (const auto& h : host_.v1) create(h);
        if (!host_.unified.empty()) fs::mkdir_p(host_.unified + path_, 0755);
        if (resources) apply(*resources, l.devices);
        // The v1 hierarchies have no clone-into: attach() moves the process.
        return {};
    }

    void attach(pid_t pid, bool cloned_in) const override {
        if (cloned_in) throw Error("cgroup v1: a process cannot be cloned into its cgroup", EINVAL);
        // Every hierarchy, so that each controller (and systemd's name=systemd
        // tree) finds the process at the container's path.
        for (const auto& h : host_.v1)
            write_kernel_file(fs::join(h.mount_point + path_, "cgroup.procs"), std::to_string(pid));
        if (!host_.unified.empty())
            write_kernel_file(fs::join(host_.unified + path_, "cgroup.procs"), std::to_string(pid));
    }

    std::vector<pid_t> pids() const override {
        // Any hierarchy lists them all; freezer or pids when there, as those
        // exist only for containers (name=systemd may be shared).
        for (const char* c : {"freezer", "pids", "memory"})
            if (const auto* h = host_.v1_for(c)) return cgroup_pids(h->mount_point + path_);
        if (!host_.v1.empty()) return cgroup_pids(host_.v1.front().mount_point + path_);
        return {};
    }

    void set_frozen(bool frozen) const override {
        const auto* h = host_.v1_for("freezer");
        if (!h) throw Error("this host has no cgroup v1 freezer hierarchy", ENOTSUP);
        const std::string file = fs::join(h->mount_point + path_, "freezer.state");
        const char* want = frozen ? "FROZEN" : "THAWED";
        // The kernel may pass through FREEZING: wait (bounded) for the result.
        for (int waited = 0; waited <= 5000; waited += 10) {
            write_kernel_file(file, want);
            if (fs::trim(fs::try_read_file(file).value_or("")) == want) return;
            sleep_ms(10);
        }
        throw Error(fmt::format("`{}` did not reach {} within 5 s", file, want), ETIMEDOUT);
    }

    bool frozen() const override {
        const auto* h = host_.v1_for("freezer");
        if (!h) return false;
        auto v = fs::try_read_file(fs::join(h->mount_point + path_, "freezer.state"));
        return v && fs::trim(*v) == "FROZEN";
    }

    CgroupStats stats() const override {
        CgroupStats s;
        auto in = [&](const char* controller, const char* file) -> std::string {
            const auto* h = host_.v1_for(controller);
            return h ? fs::join(h->mount_point + path_, file) : "";
        };
        if (auto p = in("cpuacct", "cpuacct.usage"); !p.empty()) {
            s.cpu_total_ns = read_cgroup_number(p);
            const std::string percpu = fs::try_read_file(in("cpuacct", "cpuacct.usage_percpu")).value_or("");
            for (std::string_view word : text::words(percpu)) {
                std::uint64_t v = 0;
                auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
                if (ec != std::errc() || end != word.data() + word.size()) break;
                s.cpu_percpu_ns.push_back(v);
            }
            // cpuacct.stat counts USER_HZ ticks.
            const std::uint64_t tick_ns = 1000000000ULL / std::uint64_t(::sysconf(_SC_CLK_TCK));
            auto ticks = read_cgroup_keyed(in("cpuacct", "cpuacct.stat"));
            if (auto it = ticks.find("user"); it != ticks.end()) s.cpu_user_ns = it->second * tick_ns;
            if (auto it = ticks.find("system"); it != ticks.end()) s.cpu_kernel_ns = it->second * tick_ns;
        }
        if (auto p = in("memory", "memory.usage_in_bytes"); !p.empty()) {
            s.memory_usage = read_cgroup_number(p);
            s.memory_limit = read_cgroup_number(in("memory", "memory.limit_in_bytes"));
            s.memory_max_usage = read_cgroup_number(in("memory", "memory.max_usage_in_bytes"));
            s.memory_failcnt = read_cgroup_number(in("memory", "memory.failcnt"));
            s.memory_raw = read_cgroup_keyed(in("memory", "memory.stat"));
        }
        // pids from v1, or from the unified side of a hybrid host.
        std::string pids_dir = host_.v1_for("pids") ? host_.v1_for("pids")->mount_point + path_
                               : host_.unified.empty() ? "" : host_.unified + path_;
        if (!pids_dir.empty()) {
            s.pids_current = read_cgroup_number(fs::join(pids_dir, "pids.current"));
            s.pids_limit = read_cgroup_number(fs::join(pids_dir, "pids.max"));
        }
        return s;
    }

    void remove(int timeout_ms) const override {
        std::string first_error;
        int first_errno = 0;
        auto rm = [&](const std::string& dir) {
            try {
                remove_cgroup(dir, timeout_ms);
            } catch (const Error& e) {
                if (first_error.empty()) first_error = e.what(), first_errno = e.code();
            }
        };
        for (const auto& h : host_.v1) rm(h.mount_point + path_);
        if (!host_.unified.empty()) rm(host_.unified + path_);
        if (!first_error.empty()) throw Error(first_error, first_errno);
    }

private:
    // mkdir -p below the hierarchy's root; in cpuset each new level first
    // gets its parent's cpus and mems (the kernel starts them empty).
    void create(const CgroupV1Hierarchy& h) const {
        const bool cpuset = h.has("cpuset");
        std::string dir = h.mount_point;
        size_t pos = 0;
        while (pos < path_.size()) {
            size_t next = path_.find('/', pos + 1);
            if (next == std::string::npos) next = path_.size();
            std::string parent = dir;
            dir = h.mount_point + path_.substr(0, next);
            pos = next;
            if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) throw_errno(fmt::format("create cgroup `{}`", dir));
            if (!cpuset) continue;
            for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
                std::string mine = fs::trim(fs::try_read_file(fs::join(dir, f)).value_or(""));
                if (!mine.empty()) continue;
                std::string theirs = fs::trim(fs::try_read_file(fs::join(parent, f)).value_or(""));
                if (!theirs.empty()) write_kernel_file(fs::join(dir, f), theirs);
            }
        }
    }

    void apply(const oci::Resources& r, const std::vector<oci::Device>& nodes) const {
        std::vector<std::pair<std::string, std::string>> pending;  // (file path, value) that failed once
        for (const auto& w : cgroup_v1_writes(r, nodes)) {
            std::string path = file_for(w);
            if (path.empty()) continue;
            try {
                write_kernel_file(path, w.value);
            } catch (const Error& e) {
                // Some pairs must go in a given order (memory below memsw,
                // quota against period): try again once the rest is written.
                if (e.code() != EINVAL && e.code() != EBUSY) throw;
                pending.emplace_back(path, w.value);
            }
        }
        for (const auto& [path, value] : pending) write_kernel_file(path, value);
        // The unified map goes to the cgroup2 side of a hybrid host.
        for (const auto& [file, value] : r.unified) {
            if (host_.unified.empty())
                throw Error(fmt::format("linux.resources.unified.{}: this host has no cgroup v2 hierarchy", file),
                            ENOTSUP);
            std::string p = fs::join(host_.unified + path_, file);
            if (!fs::exists(p))
                throw Error(fmt::format("linux.resources.unified.{}: no such file in `{}`", file,
                                        host_.unified + path_), ENOTSUP);
            write_kernel_file(p, value);
        }
    }

    // Where a write goes; "" to skip it (no limit, or an optional knob this
    // kernel lacks). Throws when a limit has nowhere to go.
    std::string file_for(const V1Write& w) const {
        if (const auto* h = host_.v1_for(w.controller)) {
            std::string p = fs::join(h->mount_point + path_, w.file);
            if (fs::exists(p)) return p;
            if (w.file == "memory.memsw.limit_in_bytes") {
                // No swap accounting in this kernel: runc ignores swap then too.
                log::warn("memory.swap ignored: this kernel has no swap accounting (no `{}`)", w.file);
                return "";
            }
            if (is_no_limit(w)) return "";
            throw Error(fmt::format("cannot apply {} = {}: `{}` does not exist", w.file, w.value, p), ENOTSUP);
        }
        if (!host_.unified.empty() && unified_has(host_.unified, w.controller)) {
            std::string f = unified_file(w);
            if (!f.empty()) {
                enable_in_unified(w.controller);
                return fs::join(host_.unified + path_, f);
            }
        }
        if (is_no_limit(w)) return "";
        throw Error(fmt::format("cannot apply {} = {}: this host has no `{}` cgroup controller", w.file, w.value,
                                w.controller), ENOTSUP);
    }

    // Delegates a controller down the unified tree to the container's level.
    void enable_in_unified(const std::string& controller) const {
        std::string dir = host_.unified;
        size_t pos = 0;
        while (pos < path_.size()) {
            fs::try_write_file(fs::join(dir, "cgroup.subtree_control"), "+" + controller);
            size_t next = path_.find('/', pos + 1);
            if (next == std::string::npos) break;
            dir = host_.unified + path_.substr(0, next);
            pos = next;
        }
    }

    const CgroupHost& host_;
    std::string path_;
};

// This process's path in the hierarchy with `controllers` ("" for cgroup2),
// from /proc/self/cgroup.
std::string own_path(const std::string& controllers) {
    auto path = cgroup_path_in(fs::try_read_file("/proc/self/cgroup").value_or(""), controllers);
    if (!path) throw Error(fmt::format("no `{}` line in /proc/self/cgroup", controllers), ENOENT);
    return *path;
}

std::string join_names(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
    return out;
}

}  // namespace

std::unique_ptr<ContainerCgroup> cgroup_v1(const CgroupHost& host, const std::string& path) {
    return std::make_unique<CgroupV1>(host, path);
}

void mount_cgroup_v1_tree(const std::string& target, unsigned long flags, bool own_cgroup_ns) {
    const CgroupHost& host = cgroup_host();
    const unsigned long locked = flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME | MS_NOATIME);
    if (::mount("tmpfs", target.c_str(), "tmpfs", locked, "mode=755") < 0)
        throw_errno(fmt::format("mount tmpfs on `{}` for the cgroup hierarchies", target));
    std::vector<std::string> mounted;
    auto attach = [&](const std::string& name, const char* type, const std::string& options,
                      const std::string& host_dir) {
        std::string dir = fs::join(target, name);
        if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) throw_errno(fmt::format("create `{}`", dir));
        if (own_cgroup_ns) {
            // In its own cgroup namespace the hierarchy's root is the container's cgroup.
            if (::mount("cgroup", dir.c_str(), type, locked, options.empty() ? nullptr : options.c_str()) < 0)
                throw_errno(fmt::format("mount {} ({}) on `{}`", type, options, dir));
        } else if (::mount(host_dir.c_str(), dir.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0 ||
                   ::mount(nullptr, dir.c_str(), nullptr, MS_REMOUNT | MS_BIND | locked, nullptr) < 0) {
            throw_errno(fmt::format("bind `{}` on `{}`", host_dir, dir));
        }
        mounted.push_back(dir);
    };
    for (const auto& h : host.v1) {
        const std::string controllers = join_names(h.controllers);
        std::string name = h.mount_point.substr(h.mount_point.rfind('/') + 1);
        std::string host_dir = own_cgroup_ns ? "" : h.mount_point + own_path(controllers);
        attach(name, "cgroup", controllers, host_dir);
        // Co-mounted controllers ("cpu,cpuacct") are reachable by each name.
        if (h.controllers.size() > 1 && name == controllers)
            for (const auto& c : h.controllers) {
                std::string link = fs::join(target, c);
                if (::symlink(name.c_str(), link.c_str()) < 0 && errno != EEXIST) throw_errno("symlink `" + link + "`");
            }
    }
    if (!host.unified.empty() && host.unified != "/sys/fs/cgroup") {
        std::string name = host.unified.substr(host.unified.rfind('/') + 1);
        attach(name, "cgroup2", "", own_cgroup_ns ? "" : host.unified + own_path(""));
    }
    if (flags & MS_RDONLY) {
        for (const auto& dir : mounted)
            if (::mount(nullptr, dir.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | locked, nullptr) < 0)
                throw_errno(fmt::format("remount `{}` read-only", dir));
        if (::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_RDONLY | locked, "mode=755") < 0)
            throw_errno(fmt::format("remount `{}` read-only", target));
    }
}

}  // namespace berth::runtime
