#include <catch2/catch.hpp>

#include "fake_sys.hpp"
#include <linux/magic.h>

#include <map>

#include "init/mount_plan.hpp"

using namespace berth::init;

namespace {
// Records calls; fails the mounts it is told to.
// Records the early-boot calls; the rest of the seam is the shared fake.
struct FakeSys : testing::FakeSys {
    std::vector<std::string> calls;
    std::map<std::string, int> mount_errors;
    std::map<std::string, long> types;
    int mount(const std::string&, const std::string& target, const std::string& type, unsigned long,
              const std::string&) override {
        calls.push_back("mount " + type + " " + target);
        auto it = mount_errors.find(target);
        return it == mount_errors.end() ? 0 : it->second;
    }
    int umount(const std::string& t, int) override { calls.push_back("umount " + t); return 0; }
    int mkdir(const std::string& p, mode_t) override { calls.push_back("mkdir " + p); return 0; }
    int symlink(const std::string&, const std::string& l) override { calls.push_back("symlink " + l); return 0; }
    long fs_type(const std::string& p) override { auto it = types.find(p); return it == types.end() ? 0 : it->second; }
};
}  // namespace

TEST_CASE("/proc/filesystems is parsed") {
    auto fs = parse_filesystems("nodev\tsysfs\nnodev\tproc\n\text4\nnodev\tcgroup2\n");
    CHECK(fs.count("proc"));
    CHECK(fs.count("ext4"));
    CHECK(fs.count("cgroup2"));
    CHECK(fs.size() == 4);
}

TEST_CASE("kernel mounts: the base set always, optional file systems only when offered") {
    auto base = kernel_mounts({"proc", "sysfs"});
    std::vector<std::string> targets;
    for (auto& s : base) targets.push_back(s.target);
    CHECK(targets == std::vector<std::string>{"/proc", "/sys", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"});

    auto full = kernel_mounts({"proc", "sysfs", "cgroup2", "securityfs", "bpf", "debugfs"});
    REQUIRE(full.size() == 10);
    CHECK(full[6].target == "/sys/fs/cgroup");
    CHECK(full[6].required);
    CHECK_FALSE(full[7].required);
}

TEST_CASE("tmpfs on /run, /tmp and /var, and the /var layout") {
    auto t = tmpfs_mounts();
    REQUIRE(t.size() == 3);
    CHECK(t[0].target == "/run");
    CHECK(t[1].data.find("1777") != std::string::npos);
    CHECK(t[2].target == "/var");
    bool has_log = false;
    for (auto& d : var_layout()) has_log |= d.path == "/var/log";
    CHECK(has_log);
}

TEST_CASE("mount steps: a failing optional step is reported and the rest go on") {
    FakeSys sys;
    sys.mount_errors["/sys/kernel/debug"] = -ENODEV;
    sys.types["/proc"] = PROC_SUPER_MAGIC;  // already there: skipped
    auto steps = kernel_mounts({"proc", "sysfs", "debugfs", "bpf"});
    auto res = run_mount_steps(sys, steps);
    REQUIRE(res.size() == steps.size());
    CHECK(res[0].skipped);
    bool saw_debug = false, saw_bpf_after = false;
    for (auto& r : res) {
        if (r.step->target == "/sys/kernel/debug") {
            saw_debug = true;
            CHECK(r.err == -ENODEV);
            CHECK_FALSE(r.step->required);
        }
        if (r.step->target == "/sys/fs/bpf") saw_bpf_after = r.err == 0;
    }
    CHECK(saw_debug);
    CHECK(saw_bpf_after);
    // mount points are created before mounting
    CHECK(sys.calls[0] == "mkdir /sys");
    CHECK(sys.calls[1] == "mount sysfs /sys");
}
