// The host's cgroup layout, the container's path, and the choice of back-end.
#include "runtime/cgroup.hpp"

#include <algorithm>

#include <sys/vfs.h>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/mountinfo.hpp"
#include "common/text.hpp"

namespace berth::runtime {

bool CgroupV1Hierarchy::has(const std::string& controller) const {
    for (const auto& c : controllers)
        if (c == controller) return true;
    return false;
}

const CgroupV1Hierarchy* CgroupHost::v1_for(const std::string& controller) const {
    for (const auto& h : v1)
        if (h.has(controller)) return &h;
    return nullptr;
}

namespace {
std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    for (std::string_view part : text::split(s, sep)) out.emplace_back(part);
    return out;
}

// The super options of a v1 mount name its controllers (and name=...).
std::vector<std::string> v1_controllers(const std::string& super_options) {
    std::vector<std::string> out;
    for (const auto& o : split(super_options, ','))
        if (o != "rw" && o != "ro" && o.rfind("release_agent=", 0) != 0 && o != "clone_children" &&
            o != "noprefix" && o != "xattr" && o != "cpuset_v2_mode")
            out.push_back(o);
    return out;
}
}  // namespace

CgroupHost parse_cgroup_mounts(const std::string& text) {
    CgroupHost host;
    for (const auto& m : mountinfo::parse(text)) {
        const std::string& mount_point = m.mount_point;
        // A later mount on or above an earlier one hides it (a test that
        // mounts cgroup2 over a hybrid host's /sys/fs/cgroup, for one).
        auto hidden = [&](const std::string& p) {
            return p == mount_point || p.rfind(mount_point == "/" ? "/" : mount_point + "/", 0) == 0;
        };
        if (!host.unified.empty() && hidden(host.unified)) host.unified.clear();
        host.v1.erase(std::remove_if(host.v1.begin(), host.v1.end(),
                                     [&](const CgroupV1Hierarchy& h) { return hidden(h.mount_point); }),
                      host.v1.end());
        if (m.fs_type == "cgroup2") {
            host.unified = mount_point;
        } else if (m.fs_type == "cgroup" && m.root == "/") {
            auto controllers = v1_controllers(m.super_options);
            if (controllers.empty()) continue;
            bool seen = false;
            for (const auto& h : host.v1)
                if (h.controllers == controllers) seen = true;
            if (!seen) host.v1.push_back({mount_point, controllers});
        }
    }
    return host;
}

std::optional<std::string> cgroup_path_in(std::string_view proc_cgroup, std::string_view controllers) {
    std::optional<std::string> found;
    text::for_each_line(proc_cgroup, [&](std::string_view line) {
        size_t a = line.find(':');
        size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
        if (b == std::string_view::npos || found) return;
        if (line.substr(a + 1, b - a - 1) == controllers) found = std::string(line.substr(b + 1));
    });
    return found;
}

namespace {
CgroupHost read_cgroup_host() {
    // cgroup2 on /sys/fs/cgroup is a pure v2 host (runc and crun decide the
    // same way): one statfs instead of reading and parsing the mount table,
    // which is long on a host with many containers.
    constexpr long kCgroup2Magic = 0x63677270;  // CGROUP2_SUPER_MAGIC
    struct statfs sf{};
    if (::statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == kCgroup2Magic) {
        CgroupHost host;
        host.unified = "/sys/fs/cgroup";
        return host;
    }
    return parse_cgroup_mounts(fs::try_read_file("/proc/self/mountinfo").value_or(""));
}
}  // namespace

const CgroupHost& cgroup_host() {
    static const CgroupHost host = read_cgroup_host();
    return host;
}

namespace {
// systemd's unit name to its slice path: "a-b.slice" → "/a.slice/a-b.slice".
std::string expand_slice(const std::string& slice) {
    const std::string suffix = ".slice";
    if (slice.size() <= suffix.size() || slice.compare(slice.size() - suffix.size(), suffix.size(), suffix) != 0 ||
        slice.find('/') != std::string::npos)
        throw Error(fmt::format("linux.cgroupsPath: `{}` is not a systemd slice name", slice), EINVAL);
    if (slice == "-.slice") return "";
    std::string stem = slice.substr(0, slice.size() - suffix.size());
    std::string out, prefix;
    for (const auto& part : split(stem, '-')) {
        prefix += (prefix.empty() ? "" : "-") + part;
        out += "/" + prefix + suffix;
    }
    return out;
}
}  // namespace

std::string resolve_cgroups_path(const std::string& cgroups_path, const std::string& id) {
    if (cgroups_path.empty()) return "/berth/" + id;
    for (const auto& part : split(cgroups_path, '/'))
        if (part == "..")
            throw Error(fmt::format("linux.cgroupsPath `{}`: must not contain `..`", cgroups_path), EINVAL);
    if (cgroups_path[0] != '/' && std::count(cgroups_path.begin(), cgroups_path.end(), ':') == 2) {
        // slice:prefix:name, as engines pass it for systemd's cgroup manager.
        size_t a = cgroups_path.find(':'), b = cgroups_path.find(':', a + 1);
        std::string slice = cgroups_path.substr(0, a), prefix = cgroups_path.substr(a + 1, b - a - 1),
                    name = cgroups_path.substr(b + 1);
        if (name.empty() || name.find('/') != std::string::npos || prefix.find('/') != std::string::npos)
            throw Error(fmt::format("linux.cgroupsPath `{}`: expected slice:prefix:name", cgroups_path), EINVAL);
        std::string unit = name.size() > 6 && name.compare(name.size() - 6, 6, ".slice") == 0
                               ? name
                               : (prefix.empty() ? name : prefix + "-" + name) + ".scope";
        return expand_slice(slice.empty() ? "system.slice" : slice) + "/" + unit;
    }
    std::string p = cgroups_path[0] == '/' ? cgroups_path : "/berth/" + cgroups_path;
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    return p;
}

std::optional<std::uint64_t> read_cgroup_number(const std::string& path) {
    auto text = fs::try_read_file(path);
    if (!text) return std::nullopt;
    std::string v = fs::trim(*text);
    if (v == "max") return UINT64_MAX;
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    return std::stoull(v);
}

std::map<std::string, std::uint64_t> read_cgroup_keyed(const std::string& path) {
    std::map<std::string, std::uint64_t> out;
    // "key value" pairs, one to a line.
    const std::string content = fs::try_read_file(path).value_or("");
    auto words = text::words(content);
    for (size_t i = 0; i + 1 < words.size(); i += 2) {
        std::string_view value = words[i + 1];
        if (!value.empty() && value.find_first_not_of("0123456789") == std::string_view::npos)
            out[std::string(words[i])] = std::stoull(std::string(value));
    }
    return out;
}

std::unique_ptr<ContainerCgroup> container_cgroup(const CgroupHost& host, const std::string& path) {
    if (host.pure_v2()) return cgroup_v2(host.unified + path);
    if (!host.v1.empty()) return cgroup_v1(host, path);
    return nullptr;
}

}  // namespace berth::runtime
