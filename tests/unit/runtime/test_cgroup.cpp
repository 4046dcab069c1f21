// Host detection, cgroupsPath resolution and the cgroup v1 writes.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

#include <catch2/catch.hpp>

#include "common/fs.hpp"

#include "runtime/cgroup.hpp"
#include "runtime/device_filter.hpp"
#include "../temp_dir.hpp"

using namespace berth::runtime;
namespace oci = berth::oci;

namespace {
// A hybrid host as distributions had it: v1 controllers, cgroup2 on `unified`.
const char* kHybrid =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd,release_agent=/x\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
    "90 80 0:32 /sub /mnt/memory-again rw - cgroup cgroup rw,memory\n";
}  // namespace

TEST_CASE("cgroup mounts: v1 hierarchies with their controllers, the unified mount") {
    CgroupHost h = parse_cgroup_mounts(kHybrid);
    CHECK(h.unified == "/sys/fs/cgroup/unified");
    REQUIRE(h.v1.size() == 3);  // the second, non-root memory mount is not a hierarchy of its own
    CHECK(h.v1[0].mount_point == "/sys/fs/cgroup/cpu,cpuacct");
    CHECK(h.v1[0].controllers == std::vector<std::string>{"cpu", "cpuacct"});
    CHECK(h.v1[2].controllers == std::vector<std::string>{"name=systemd"});
    CHECK(h.v1_for("cpuacct") == &h.v1[0]);
    CHECK(h.v1_for("pids") == nullptr);
    CHECK_FALSE(h.pure_v2());

    // cgroup2 mounted over the hybrid layout hides it: a pure v2 view.
    CgroupHost over = parse_cgroup_mounts(std::string(kHybrid) + "99 23 0:40 / /sys/fs/cgroup rw - cgroup2 none rw\n");
    CHECK(over.pure_v2());
    CHECK(over.unified == "/sys/fs/cgroup");
    CgroupHost v2 = parse_cgroup_mounts("30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n");
    CHECK(v2.pure_v2());
    CHECK(v2.unified == "/sys/fs/cgroup");
    CHECK_FALSE(parse_cgroup_mounts("").any());
}

TEST_CASE("cgroupsPath: absolute, relative, empty and systemd's slice:prefix:name") {
    CHECK(resolve_cgroups_path("/libpod_parent/libpod-abc", "x") == "/libpod_parent/libpod-abc");
    CHECK(resolve_cgroups_path("", "c1") == "/berth/c1");
    CHECK(resolve_cgroups_path("pod/c1/", "c1") == "/berth/pod/c1");
    CHECK(resolve_cgroups_path("machine.slice:libpod:abc", "x") == "/machine.slice/libpod-abc.scope");
    CHECK(resolve_cgroups_path("user-1000.slice:crio:id", "x") == "/user.slice/user-1000.slice/crio-id.scope");
    CHECK(resolve_cgroups_path(":libpod:abc", "x") == "/system.slice/libpod-abc.scope");
    CHECK_THROWS_WITH(resolve_cgroups_path("/a/../b", "x"), Catch::Contains("must not contain `..`"));
    CHECK_THROWS_WITH(resolve_cgroups_path("notaslice:p:n", "x"), Catch::Contains("not a systemd slice name"));
}

TEST_CASE("cgroup v1 writes: each controller's files, devices as allow/deny lines") {
    oci::Resources r;
    r.memory = oci::MemoryResources{};
    r.memory->limit = 64 << 20;
    r.memory->swap = 128 << 20;
    r.memory->swappiness = 10;
    r.memory->disable_oom_killer = true;
    r.cpu = oci::CpuResources{};
    r.cpu->shares = 512;
    r.cpu->quota = 50000;
    r.cpu->period = 100000;
    r.cpu->cpus = "0";
    r.pids = oci::PidsResources{50};
    r.hugepage_limits = {{"2MB", 4 << 20}};
    r.network = oci::NetworkResources{7, {{"eth0", 3}}};
    r.devices = {{false, 'a', std::nullopt, std::nullopt, "rwm"}, {true, 'c', 10, 200, "rw"}};
    oci::Device fuse;
    fuse.type = 'c';
    fuse.path = "/dev/fuse";
    fuse.major = 10;
    fuse.minor = 229;
    auto w = cgroup_v1_writes(r, {fuse});
    auto has = [&](const std::string& c, const std::string& f, const std::string& v) {
        for (const auto& x : w)
            if (x.controller == c && x.file == f && x.value == v) return true;
        return false;
    };
    CHECK(w.front().file == "cpuset.cpus");  // before anything else
    CHECK(has("cpu", "cpu.shares", "512"));
    CHECK(has("cpu", "cpu.cfs_quota_us", "50000"));
    CHECK(has("cpu", "cpu.cfs_period_us", "100000"));
    CHECK(has("memory", "memory.limit_in_bytes", "67108864"));
    CHECK(has("memory", "memory.memsw.limit_in_bytes", "134217728"));
    CHECK(has("memory", "memory.swappiness", "10"));
    CHECK(has("memory", "memory.oom_control", "1"));
    CHECK(has("pids", "pids.max", "50"));
    CHECK(has("hugetlb", "hugetlb.2MB.limit_in_bytes", "4194304"));
    CHECK(has("net_cls", "net_cls.classid", "7"));
    CHECK(has("net_prio", "net_prio.ifpriomap", "eth0 3"));
    CHECK(has("devices", "devices.deny", "a *:* rwm"));
    CHECK(has("devices", "devices.allow", "c 10:200 rw"));
    CHECK(has("devices", "devices.allow", "c 136:* rwm"));  // the default pts
    CHECK(has("devices", "devices.allow", "c 10:229 rwm"));  // linux.devices, implicitly
    // The deny-all comes first: the allows that follow refill the list.
    size_t deny = 0, fuse_allow = 0;
    for (size_t i = 0; i < w.size(); ++i) {
        if (w[i].value == "a *:* rwm") deny = i;
        if (w[i].value == "c 10:229 rwm") fuse_allow = i;
    }
    CHECK(deny < fuse_allow);
    // No devices rules: the device list is left alone (as on v2).
    r.devices.clear();
    for (const auto& x : cgroup_v1_writes(r, {fuse})) CHECK(x.controller != "devices");
}

TEST_CASE("cgroup v1 knobs are named for the v2 back-end to refuse") {
    oci::Resources r;
    CHECK(oci::cgroup_v1_only_fields(r).empty());
    r.memory = oci::MemoryResources{};
    r.memory->swappiness = 0;
    r.network = oci::NetworkResources{1, {}};
    CHECK(oci::cgroup_v1_only_fields(r) == std::vector<std::string>{"memory.swappiness", "network.classID"});
}

TEST_CASE("linux.devices nodes join the device allow list; FIFOs need no rule") {
    oci::Device blk, fifo;
    blk.type = 'b';
    blk.major = 7;
    blk.minor = 0;
    fifo.type = 'p';
    auto rules = device_rules_with_defaults({}, {blk, fifo});
    REQUIRE(rules.size() == 12 + 1);
    CHECK(rules.back().allow);
    CHECK(rules.back().type == 'b');
    CHECK(rules.back().major == 7);
    CHECK(rules.back().minor == 0);
}

TEST_CASE("cgroup stat files: one number or max, and key value lines") {
    berth::test::TempDir tmp;
    const std::string& d = tmp.path();
    berth::fs::write_file(d + "/pids.max", "max\n");
    berth::fs::write_file(d + "/pids.current", "3\n");
    berth::fs::write_file(d + "/odd", "12 34\n");
    berth::fs::write_file(d + "/cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods x\n");
    CHECK(read_cgroup_number(d + "/pids.max") == UINT64_MAX);
    CHECK(read_cgroup_number(d + "/pids.current") == 3u);
    CHECK_FALSE(read_cgroup_number(d + "/odd"));
    CHECK_FALSE(read_cgroup_number(d + "/missing"));
    auto cpu = read_cgroup_keyed(d + "/cpu.stat");
    CHECK(cpu.size() == 3);
    CHECK(cpu["usage_usec"] == 1500u);
    CHECK(cpu.count("nr_periods") == 0);
    CHECK(read_cgroup_keyed(d + "/missing").empty());
}

TEST_CASE("cgroup_path_in: the line whose controllers field matches exactly") {
    const char* text =
        "10:cpu,cpuacct:/a/b\n"
        "1:name=systemd:/user.slice\n"
        "0::/berth/web\n";
    CHECK(cgroup_path_in(text, "") == "/berth/web");
    CHECK(cgroup_path_in(text, "cpu,cpuacct") == "/a/b");
    CHECK(cgroup_path_in(text, "name=systemd") == "/user.slice");
    CHECK_FALSE(cgroup_path_in(text, "cpu"));
    // "10::" is not the v2 line, and a path may hold colons.
    CHECK(cgroup_path_in("10:memory:/x0::y\n0::/p:q\n", "") == "/p:q");
    CHECK_FALSE(cgroup_path_in("", ""));
}
