// cgroup v2 back-end: one directory in the unified hierarchy.
#include "runtime/cgroup.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "runtime/device_filter.hpp"
#include "runtime/sysfile.hpp"

namespace berth::runtime {

std::uint64_t shares_to_weight(std::uint64_t shares) {
    shares = std::clamp<std::uint64_t>(shares, 2, 262144);
    return 1 + ((shares - 2) * 9999) / 262142;
}

std::uint64_t blkio_to_io_weight(std::uint64_t weight) {
    weight = std::clamp<std::uint64_t>(weight, 10, 1000);
    return 1 + ((weight - 10) * 9999) / 990;
}

std::vector<std::pair<std::string, std::string>> cgroup_resource_files(const oci::Resources& r) {
    std::vector<std::pair<std::string, std::string>> out;
    auto limit = [](std::int64_t v) { return v < 0 ? std::string("max") : std::to_string(v); };
    if (r.memory) {
        const auto& m = *r.memory;
        if (m.limit) out.emplace_back("memory.max", limit(*m.limit));
        if (m.reservation) out.emplace_back("memory.low", limit(*m.reservation));
        // v1 "swap" is memory+swap; v2 wants the swap part alone.
        if (m.swap) {
            std::string v = "max";
            if (*m.swap >= 0 && m.limit && *m.limit >= 0) v = std::to_string(std::max<std::int64_t>(0, *m.swap - *m.limit));
            out.emplace_back("memory.swap.max", v);
        }
    }
    if (r.cpu) {
        const auto& c = *r.cpu;
        if (c.shares) out.emplace_back("cpu.weight", std::to_string(shares_to_weight(*c.shares)));
        if (c.quota || c.period) {
            std::string quota = c.quota && *c.quota > 0 ? std::to_string(*c.quota) : "max";
            out.emplace_back("cpu.max", fmt::format("{} {}", quota, c.period.value_or(100000)));
        }
        if (!c.cpus.empty()) out.emplace_back("cpuset.cpus", c.cpus);
        if (!c.mems.empty()) out.emplace_back("cpuset.mems", c.mems);
        if (c.burst) out.emplace_back("cpu.max.burst", std::to_string(*c.burst));
        if (c.idle) out.emplace_back("cpu.idle", std::to_string(*c.idle));
    }
    if (r.pids) out.emplace_back("pids.max", r.pids->limit > 0 ? std::to_string(r.pids->limit) : "max");
    if (r.block_io) {
        const auto& b = *r.block_io;
        if (b.weight) out.emplace_back("io.weight", fmt::format("default {}", blkio_to_io_weight(*b.weight)));
        for (const auto& d : b.weight_device)
            if (d.weight) out.emplace_back("io.weight", fmt::format("{}:{} {}", d.major, d.minor, blkio_to_io_weight(*d.weight)));
        // One line per key: the kernel merges the keys of a device.
        auto throttle = [&](const std::vector<oci::BlockIODevice>& list, const char* key) {
            for (const auto& d : list) out.emplace_back("io.max", fmt::format("{}:{} {}={}", d.major, d.minor, key, d.rate));
        };
        throttle(b.throttle_read_bps, "rbps");
        throttle(b.throttle_write_bps, "wbps");
        throttle(b.throttle_read_iops, "riops");
        throttle(b.throttle_write_iops, "wiops");
    }
    for (const auto& h : r.hugepage_limits) out.emplace_back("hugetlb." + h.page_size + ".max", std::to_string(h.limit));
    // Last, so an explicit unified value wins over a converted one (crun's order).
    for (const auto& [file, value] : r.unified) out.emplace_back(file, value);
    return out;
}

namespace {
std::string enabled_controllers(const std::string& dir) {
    auto c = fs::try_read_file(fs::join(dir, "cgroup.controllers"));
    std::string v = c ? fs::trim(*c) : "";
    return v.empty() ? "none" : v;
}
}  // namespace

namespace {

// Makes every controller available at the root reach `path`: each ancestor
// below the root delegates what it has (crun does the same). A level that
// refuses (processes in an inner node) is left as is; a limit that then cannot
// be applied is reported by prepare_cgroup.
void enable_controllers(const std::string& path) {
    const std::string root = cgroup2_root();
    if (root.empty() || path.compare(0, root.size(), root) != 0) return;
    std::string dir = root;
    size_t pos = root.size();
    for (;;) {
        auto controllers = fs::try_read_file(fs::join(dir, "cgroup.controllers"));
        std::string want;
        if (controllers) {
            std::string word;
            for (char ch : *controllers + " ") {
                if (ch == ' ' || ch == '\n') {
                    if (!word.empty()) want += (want.empty() ? "+" : " +") + word;
                    word.clear();
                } else {
                    word += ch;
                }
            }
        }
        if (!want.empty()) fs::try_write_file(fs::join(dir, "cgroup.subtree_control"), want);
        size_t next = path.find('/', pos + 1);
        if (next == std::string::npos) return;  // dir is the parent of path
        dir = path.substr(0, next);
        pos = next;
        if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) throw_errno(fmt::format("create cgroup `{}`", dir));
    }
}

}  // namespace

fs::Fd prepare_cgroup(const std::string& path, const oci::Linux& l, bool* created) {
    if (l.resources) {
        // Known knobs cgroup v2 has no file for: refused, never dropped.
        auto v1 = oci::cgroup_v1_only_fields(*l.resources);
        if (!v1.empty())
            throw Error(fmt::format("linux.resources.{}: a cgroup v1 setting; this host has cgroup v2 only", v1[0]),
                        ENOTSUP);
        enable_controllers(path);
    }
    bool made = fs::mkdir_p(path, 0755);
    if (created) *created = made;
    if (l.resources) {
        for (const auto& [file, value] : cgroup_resource_files(*l.resources)) {
            std::string p = fs::join(path, file);
            // "No limit" needs no controller; any real limit does, and a limit
            // that cannot be enforced must not pass silently.
            if (!fs::exists(p)) {
                if (value == "max") continue;
                throw Error(fmt::format("cannot apply {} = {}: the {} controller is not available in `{}` "
                                        "(enabled: {})", file, value, file.substr(0, file.find('.')), path,
                                        enabled_controllers(path)), ENOTSUP);
            }
            write_kernel_file(p, value);
        }
    }
    // Before the process joins: it must never run unfiltered.
    if (l.resources && !l.resources->devices.empty())
        attach_device_filter(path, device_rules_with_defaults(l.resources->devices, l.devices));
    fs::Fd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) throw_errno(fmt::format("open cgroup `{}`", path));
    return dir;
}

void move_into_cgroup(const std::string& path, pid_t pid) {
    write_kernel_file(fs::join(path, "cgroup.procs"), std::to_string(pid));
}

namespace {
constexpr long kCgroup2Magic = 0x63677270;  // CGROUP2_SUPER_MAGIC

bool is_cgroup2(const char* path) {
    struct statfs sf{};
    return ::statfs(path, &sf) == 0 && sf.f_type == kCgroup2Magic;
}
}  // namespace

std::string cgroup2_root() {
    if (is_cgroup2("/sys/fs/cgroup")) return "/sys/fs/cgroup";
    if (is_cgroup2("/sys/fs/cgroup/unified")) return "/sys/fs/cgroup/unified";
    return "";
}

std::vector<pid_t> cgroup_pids(const std::string& dir) {
    std::vector<pid_t> out;
    auto text = fs::try_read_file(fs::join(dir, "cgroup.procs"));
    if (!text) return out;
    const char* p = text->c_str();
    while (*p) {
        char* end;
        long v = std::strtol(p, &end, 10);
        if (end == p) break;
        if (v > 0) out.push_back(pid_t(v));
        p = end;
        while (*p == '\n') ++p;
    }
    return out;
}

void remove_cgroup(const std::string& dir, int timeout_ms) {
    for (int waited = 0;; waited += 10) {
        if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
        if (errno != EBUSY || waited >= timeout_ms) throw_errno(fmt::format("remove cgroup `{}`", dir));
        timespec ts{0, 10 * 1000 * 1000};
        ::nanosleep(&ts, nullptr);
    }
}

namespace {
class CgroupV2 final : public ContainerCgroup {
public:
    explicit CgroupV2(std::string dir) : dir_(std::move(dir)) {}
    fs::Fd prepare(const oci::Linux& l, const oci::Resources* resources) const override {
        if (resources == (l.resources ? &*l.resources : nullptr)) return prepare_cgroup(dir_, l);
        oci::Linux copy = l;
        copy.resources = resources ? std::optional<oci::Resources>(*resources) : std::nullopt;
        return prepare_cgroup(dir_, copy);
    }
    void attach(pid_t pid, bool cloned_in) const override {
        if (!cloned_in) move_into_cgroup(dir_, pid);
    }
    std::vector<pid_t> pids() const override { return cgroup_pids(dir_); }
    void set_frozen(bool frozen) const override {
        // Delete thaws every container, nearly always one never frozen: when
        // cgroup.freeze already says 0, writing 0 changes nothing (a frozen
        // ancestor keeps it frozen either way), so one read replaces the write
        // (whose open alone costs more) and the read of cgroup.events.
        if (!frozen && fs::try_read_file(fs::join(dir_, "cgroup.freeze")).value_or("").rfind('0', 0) == 0) return;
        write_kernel_file(fs::join(dir_, "cgroup.freeze"), frozen ? "1" : "0");
        for (int waited = 0; waited <= 5000; waited += 10) {
            if (this->frozen() == frozen) return;
            timespec ts{0, 10 * 1000 * 1000};
            ::nanosleep(&ts, nullptr);
        }
        throw Error(fmt::format("`{}` did not {} within 5 s", dir_, frozen ? "freeze" : "thaw"), ETIMEDOUT);
    }
    bool frozen() const override {
        auto events = fs::try_read_file(fs::join(dir_, "cgroup.events")).value_or("");
        return events.find("frozen 1") != std::string::npos;
    }
    void remove(int timeout_ms) const override { remove_cgroup(dir_, timeout_ms); }
    CgroupStats stats() const override {
        CgroupStats s;
        auto cpu = read_cgroup_keyed(fs::join(dir_, "cpu.stat"));
        auto ns = [&](const char* key) -> std::optional<std::uint64_t> {
            auto it = cpu.find(key);
            if (it == cpu.end()) return std::nullopt;
            return it->second * 1000;
        };
        s.cpu_total_ns = ns("usage_usec");
        s.cpu_user_ns = ns("user_usec");
        s.cpu_kernel_ns = ns("system_usec");
        s.memory_usage = read_cgroup_number(fs::join(dir_, "memory.current"));
        s.memory_limit = read_cgroup_number(fs::join(dir_, "memory.max"));
        s.memory_max_usage = read_cgroup_number(fs::join(dir_, "memory.peak"));
        if (s.memory_usage) {
            auto events = read_cgroup_keyed(fs::join(dir_, "memory.events"));
            if (auto it = events.find("max"); it != events.end()) s.memory_failcnt = it->second;
            s.memory_raw = read_cgroup_keyed(fs::join(dir_, "memory.stat"));
        }
        s.pids_current = read_cgroup_number(fs::join(dir_, "pids.current"));
        s.pids_limit = read_cgroup_number(fs::join(dir_, "pids.max"));
        return s;
    }

private:
    std::string dir_;
};
}  // namespace

std::unique_ptr<ContainerCgroup> cgroup_v2(const std::string& dir) { return std::make_unique<CgroupV2>(dir); }

}  // namespace berth::runtime
