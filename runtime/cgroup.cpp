#include "runtime/cgroup.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "runtime/sysfile.hpp"

namespace berth::runtime {

std::uint64_t shares_to_weight(std::uint64_t shares) {
    shares = std::clamp<std::uint64_t>(shares, 2, 262144);
    return 1 + ((shares - 2) * 9999) / 262142;
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
    }
    if (r.pids) out.emplace_back("pids.max", r.pids->limit > 0 ? std::to_string(r.pids->limit) : "max");
    return out;
}

void join_cgroup(const std::string& path, const oci::Linux& l, pid_t pid) {
    fs::mkdir_p(path, 0755);
    if (l.resources) {
        for (const auto& [file, value] : cgroup_resource_files(*l.resources)) {
            std::string p = fs::join(path, file);
            // The controller may not be enabled for this subtree.
            if (!fs::exists(p)) {
                log::warn("cgroup `{}`: no {}, resource not applied", path, file);
                continue;
            }
            write_kernel_file(p, value);
        }
    }
    write_kernel_file(fs::join(path, "cgroup.procs"), std::to_string(pid));
}

}  // namespace berth::runtime
