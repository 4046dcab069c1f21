// berth exec and berth-runc exec: the container's spec turned into one the
// launcher only joins with, keeping every process field the launcher applies.
#include <unistd.h>

#include <fstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "config/oci_spec.hpp"
#include "runtime/exec_spec.hpp"

using namespace berth;

TEST_CASE("exec spec: joins the target's namespaces, creates nothing, keeps the process fields") {
    oci::Spec c = oci::parse_spec(nlohmann::json::parse(R"({
      "ociVersion": "1.0.2", "root": {"path": "rootfs"}, "hostname": "web",
      "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
      "hooks": {"poststart": [{"path": "/bin/true"}]},
      "process": {"args": ["/bin/web"], "cwd": "/", "user": {"uid": 5, "gid": 5, "umask": 63},
                  "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 777, "soft": 555}], "oomScoreAdj": 321},
      "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}],
                "resources": {"pids": {"limit": 5}}, "sysctl": {"kernel.domainname": "x"},
                "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"]}
    })"), "config.json");
    oci::Process p = c.process;
    p.args = {"/bin/sh"};
    // The test process itself as the target: every namespace is ours, so only
    // the listed ones are joined.
    oci::Spec ex = runtime::exec_spec(c, p, ::getpid());
    std::string proc = "/proc/" + std::to_string(::getpid()) + "/ns/";
    REQUIRE(ex.linux_.namespaces.size() == 3);
    CHECK(ex.linux_.find_namespace(oci::NamespaceType::pid)->path == proc + "pid");
    CHECK(ex.linux_.find_namespace(oci::NamespaceType::mount)->path == proc + "mnt");
    CHECK(ex.linux_.find_namespace(oci::NamespaceType::uts)->path == proc + "uts");
    CHECK_FALSE(ex.linux_.creates_namespace(oci::NamespaceType::pid));
    CHECK(ex.mounts.empty());
    CHECK(ex.hooks.poststart.empty());
    CHECK(ex.hostname.empty());
    CHECK_FALSE(ex.linux_.resources);
    CHECK(ex.linux_.sysctl.empty());
    CHECK(ex.linux_.masked_paths.empty());
    CHECK(ex.linux_.readonly_paths.empty());
    CHECK(ex.process.args == std::vector<std::string>{"/bin/sh"});
    CHECK(ex.process.rlimits == c.process.rlimits);
    CHECK(ex.process.user.umask == 63u);
    CHECK(ex.process.oom_score_adj == 321);
    // What the launcher gets still passes the checks PID 1 runs on a bundle.
    CHECK_NOTHROW(oci::parse_spec(oci::spec_to_json(ex), "exec"));
}

TEST_CASE("exec spec: the target's cgroup directory from /proc/PID/cgroup") {
    std::ifstream f("/proc/self/cgroup");
    std::string line, expected;
    while (std::getline(f, line))
        if (line.rfind("0::", 0) == 0) expected = line.substr(3) == "/" ? "/sys/fs/cgroup" : "/sys/fs/cgroup" + line.substr(3);
    CHECK(runtime::cgroup_dir_of(::getpid()) == expected);  // "" without cgroup2
}
