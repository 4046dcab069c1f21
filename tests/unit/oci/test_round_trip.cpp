// config.json written from the model reads back as the same model: the builder
// writes every bundle through spec_to_json, PID 1 reads it with parse_spec.
#include <catch2/catch.hpp>

#include "config/oci_spec.hpp"
#include "spec_fixture.hpp"

using namespace berth::oci;
using nlohmann::json;

namespace {

// Every field the model has, with values that are not the defaults.
json kitchen_sink() {
    return json::parse(R"({
      "ociVersion": "1.2.0",
      "root": {"path": "rootfs", "readonly": true},
      "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid"]},
        {"destination": "/a", "type": "bind", "source": "/x", "options": ["rbind"],
         "uidMappings": [{"containerID": 0, "hostID": 2000, "size": 10}],
         "gidMappings": [{"containerID": 0, "hostID": 3000, "size": 10}]},
        {"destination": "/b", "type": "bind", "source": "/y", "options": ["bind", "idmap=uids=0-4000-5;gids=0-5000-5"]},
        {"destination": "/c", "type": "bind", "source": "/z", "options": ["rbind", "ridmap"]}
      ],
      "process": {
        "terminal": true,
        "consoleSize": {"height": 24, "width": 80},
        "user": {"uid": 1000, "gid": 1001, "umask": 18, "additionalGids": [5, 6], "username": "app"},
        "args": ["/bin/app", "--flag"],
        "env": ["PATH=/bin", "A=b=c"],
        "cwd": "/srv",
        "capabilities": {"bounding": ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"], "effective": ["CAP_CHOWN"],
                         "inheritable": [], "permitted": ["CAP_CHOWN"], "ambient": ["CAP_NET_BIND_SERVICE"]},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}, {"type": "RLIMIT_CORE", "hard": 0, "soft": 0}],
        "noNewPrivileges": true,
        "oomScoreAdj": -500,
        "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 3},
        "scheduler": {"policy": "SCHED_DEADLINE", "flags": ["SCHED_FLAG_RESET_ON_FORK"],
                      "runtime": 1000000, "deadline": 2000000, "period": 3000000},
        "execCPUAffinity": {"initial": "0", "final": "0-1"},
        "apparmorProfile": "berth-test",
        "selinuxLabel": "system_u:system_r:container_t:s0"
      },
      "hostname": "web",
      "domainname": "example.org",
      "annotations": {"org.example/key": "value"},
      "hooks": {"prestart": [{"path": "/bin/a"}],
                "createRuntime": [{"path": "/bin/b", "args": ["b", "1"], "env": ["X=1"], "timeout": 5}],
                "createContainer": [{"path": "/bin/c"}], "startContainer": [{"path": "/bin/d"}],
                "poststart": [{"path": "/bin/e"}], "poststop": [{"path": "/bin/f"}]},
      "linux": {
        "namespaces": [{"type": "pid"}, {"type": "network", "path": "/run/netns/x"}, {"type": "mount"},
                       {"type": "uts"}, {"type": "user"}, {"type": "cgroup"}, {"type": "time"}],
        "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": 200000, "size": 65536}],
        "cgroupsPath": "/berth/web",
        "resources": {
          "memory": {"limit": 67108864, "reservation": 1048576, "swap": -1},
          "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0", "burst": 10, "idle": 1},
          "pids": {"limit": 64},
          "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}],
          "blockIO": {"weight": 500, "weightDevice": [{"major": 8, "minor": 0, "weight": 300}],
                      "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}],
                      "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2000}],
                      "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 30}],
                      "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 40}]},
          "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
          "unified": {"memory.high": "50000000"}
        },
        "sysctl": {"net.ipv4.ip_forward": "1"},
        "maskedPaths": ["/proc/kcore"],
        "readonlyPaths": ["/proc/sys"],
        "rootfsPropagation": "rslave",
        "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "architectures": ["SCMP_ARCH_X86_64"],
                    "flags": ["SECCOMP_FILTER_FLAG_LOG"],
                    "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                                 {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
                                  "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                                           {"index": 1, "value": 255, "valueTwo": 4, "op": "SCMP_CMP_MASKED_EQ"}]}]},
        "personality": {"domain": "LINUX32"},
        "devices": [{"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0},
                    {"type": "p", "path": "/dev/fifo", "major": 0, "minor": 0}],
        "timeOffsets": {"monotonic": {"secs": 10, "nanosecs": 5}, "boottime": {"secs": -3, "nanosecs": 0}},
        "memoryPolicy": {"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]},
        "mountLabel": "system_u:object_r:container_file_t:s0"
      }
    })");
}

}  // namespace

TEST_CASE("parse(serialise(spec)) == spec for every modelled field") {
    REQUIRE(spec_problems(kitchen_sink()).empty());
    Spec s = parse_spec(kitchen_sink(), "in.json");
    json out = spec_to_json(s);
    Spec back = parse_spec(out, "out.json");
    CHECK(back == s);
    CHECK(spec_to_json(back) == out);  // a fixed point: writing twice changes nothing
    // The idmapped mounts keep their mappings, however they were written.
    CHECK(back.mounts[1].uid_mappings.at(0).host_id == 2000);
    CHECK(back.mounts[2].gid_mappings.at(0).host_id == 5000);
    CHECK(back.mounts[3].idmap == IdmapMode::recursive);
    CHECK(back.mounts[3].uid_mappings == s.linux_.uid_mappings);
    CHECK(back.linux_.seccomp->syscalls.at(1).args.at(1).op == SeccompOp::masked_eq);
}

TEST_CASE("a minimal spec round-trips and the comparison sees a deep change") {
    Spec s = parse_spec(minimal_config(), "in.json");
    CHECK(parse_spec(spec_to_json(s), "out.json") == s);
    Spec changed = parse_spec(kitchen_sink(), "in.json");
    Spec other = changed;
    CHECK(other == changed);
    other.linux_.resources->block_io->throttle_write_iops.at(0).rate = 41;
    CHECK_FALSE(other == changed);
    other = changed;
    other.process.scheduler->period = 4000000;
    CHECK_FALSE(parse_spec(spec_to_json(other), "x") == changed);
}
