#include <sys/resource.h>

#include <catch2/catch.hpp>

#include "config/oci_spec.hpp"
#include "spec_fixture.hpp"

using namespace berth::oci;
using nlohmann::json;

TEST_CASE("minimal config parses with defaults") {
    Spec s = parse_spec(minimal_config(), "config.json");
    CHECK(s.oci_version == "1.0.2");
    CHECK(s.root.path == "rootfs");
    CHECK_FALSE(s.root.readonly);
    CHECK(s.process.args == std::vector<std::string>{"/bin/sh"});
    CHECK(s.process.cwd == "/");
    CHECK_FALSE(s.process.capabilities);
    CHECK_FALSE(s.process.oom_score_adj);
    CHECK(s.linux_.creates_namespace(NamespaceType::mount));
    CHECK_FALSE(s.linux_.creates_namespace(NamespaceType::pid));
    CHECK_FALSE(s.linux_.seccomp);
    REQUIRE(s.raw);
    CHECK((*s.raw)["ociVersion"] == "1.0.2");
}

TEST_CASE("full config parses every modelled field") {
    json j = json::parse(R"({
      "ociVersion": "1.1.0",
      "root": {"path": "/abs/rootfs", "readonly": true},
      "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/data", "type": "bind", "source": "data", "options": ["rbind", "ro"]}
      ],
      "process": {
        "terminal": true,
        "user": {"uid": 1000, "gid": 1001, "umask": 18, "additionalGids": [5, 6]},
        "args": ["/bin/app", "--flag"],
        "env": ["PATH=/bin", "A=b=c"],
        "cwd": "/srv",
        "capabilities": {"bounding": ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"],
                         "effective": ["CAP_CHOWN"], "inheritable": [],
                         "permitted": ["CAP_CHOWN"], "ambient": ["CAP_NET_BIND_SERVICE"]},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}],
        "noNewPrivileges": true,
        "oomScoreAdj": -500
      },
      "hostname": "web",
      "domainname": "example.org",
      "annotations": {"org.example/key": "value"},
      "linux": {
        "namespaces": [{"type": "pid"}, {"type": "network", "path": "/run/netns/x"},
                       {"type": "mount"}, {"type": "uts"}, {"type": "user"}, {"type": "cgroup"}],
        "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        "cgroupsPath": "/berth/web",
        "resources": {"memory": {"limit": 67108864, "swap": -1},
                      "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1"},
                      "pids": {"limit": 64}},
        "sysctl": {"net.ipv4.ip_forward": "1"},
        "maskedPaths": ["/proc/kcore"],
        "readonlyPaths": ["/proc/sys"],
        "rootfsPropagation": "rslave",
        "seccomp": {"defaultAction": "SCMP_ACT_ALLOW"}
      }
    })");
    Spec s = parse_spec(j, "c.json");
    CHECK(s.root.readonly);
    REQUIRE(s.mounts.size() == 2);
    CHECK(s.mounts[1].destination == "/data");
    CHECK(s.mounts[1].options == std::vector<std::string>{"rbind", "ro"});
    CHECK(s.process.terminal);
    CHECK(s.process.user.uid == 1000);
    CHECK(s.process.user.gid == 1001);
    CHECK(s.process.user.umask == 18u);
    CHECK(s.process.user.additional_gids == std::vector<std::uint32_t>{5, 6});
    REQUIRE(s.process.capabilities);
    CHECK(s.process.capabilities->bounding == std::vector<int>{10, 0});
    CHECK(s.process.capabilities->ambient == std::vector<int>{10});
    CHECK(s.process.capabilities->inheritable.empty());
    REQUIRE(s.process.rlimits.size() == 1);
    CHECK(s.process.rlimits[0].resource == RLIMIT_NOFILE);
    CHECK(s.process.rlimits[0].soft == 512);
    CHECK(s.process.no_new_privileges);
    CHECK(s.process.oom_score_adj == -500);
    CHECK(s.hostname == "web");
    CHECK(s.annotations.at("org.example/key") == "value");
    const Linux& l = s.linux_;
    CHECK(l.find_namespace(NamespaceType::network)->path == "/run/netns/x");
    CHECK_FALSE(l.creates_namespace(NamespaceType::network));
    CHECK(l.creates_namespace(NamespaceType::user));
    CHECK(l.uid_mappings.at(0).host_id == 100000);
    CHECK(l.gid_mappings.at(0).size == 65536);
    CHECK(l.cgroups_path == "/berth/web");
    REQUIRE(l.resources);
    CHECK(l.resources->memory->limit == 67108864);
    CHECK(l.resources->memory->swap == -1);
    CHECK(l.resources->cpu->shares == 512u);
    CHECK(l.resources->cpu->quota == 50000);
    CHECK(l.resources->cpu->cpus == "0-1");
    CHECK(l.resources->pids->limit == 64);
    CHECK(l.sysctl.at("net.ipv4.ip_forward") == "1");
    CHECK(l.masked_paths == std::vector<std::string>{"/proc/kcore"});
    CHECK(l.rootfs_propagation == "rslave");
    REQUIRE(l.seccomp);
    CHECK(l.seccomp->default_action == SeccompAction::allow);
}

TEST_CASE("null optional members count as absent and unknown members are ignored") {
    json j = minimal_config();
    j["hostname"] = nullptr;
    j["linux"]["seccomp"] = nullptr;
    j["somethingNew"] = {{"x", 1}};
    Spec s = parse_spec(j, "c.json");
    CHECK(s.hostname.empty());
    CHECK_FALSE(s.linux_.seccomp);
}

TEST_CASE("a username may replace numeric ids") {
    json j = minimal_config();
    j["process"]["user"] = {{"username", "nobody"}};
    Spec s = parse_spec(j, "c.json");
    CHECK(s.process.user.username == "nobody");
}
