#include <cstring>

#include <catch2/catch.hpp>

#include "builder/bundle.hpp"
#include "builder/container_keys.hpp"
#include "builder/image_assembler.hpp"
#include "builder/layer_unpack.hpp"
#include "builder/oci_config_gen.hpp"
#include "builder/outputs.hpp"
#include "common/fs.hpp"
#include "config/oci_defaults.hpp"
#include "config/oci_spec.hpp"
#include "config/seccomp_program.hpp"
#include "runtime/seccomp.hpp"
#include "../init/log_capture.hpp"
#include "test_util.hpp"

using namespace berth;
using namespace berth::builder;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

const char* kHead = "kernel:\n  package: k\nservices:\n  - name: s\n    image: i\n    command: [x]\n";

ImageSpec parse(const std::string& text) { return parse_image_yaml(text, "t.yml", "."); }

json mount_at(const json& spec, const std::string& dst) {
    for (const auto& m : spec["mounts"])
        if (m["destination"] == dst) return m;
    return json();
}

}  // namespace

TEST_CASE("keys: every LinuxKit per-image key maps onto config.json", "[builder][keys]") {
    ImageSpec s = parse(std::string(kHead) +
                        "    ambient: [CAP_NET_RAW]\n"
                        "    mounts: [{destination: /m, type: tmpfs, options: [size=1m]}]\n"
                        "    tmpfs: [\"/t:size=2m,mode=1777\"]\n"
                        "    devices: [{path: /dev/fuse, type: c, major: 10, minor: 229, mode: \"0666\"}]\n"
                        "    net: /run/netns/x\n    userns: new\n    cgroupns: new\n"
                        "    additionalGids: [5, 6]\n    noNewPrivileges: false\n    oomScoreAdj: -500\n"
                        "    apparmorProfile: berth-test\n"
                        "    rootfsPropagation: rshared\n    cgroupsPath: /berth/s\n"
                        "    resources: {memory: {limit: 1000000}}\n"
                        "    sysctl: {net.ipv4.ip_forward: \"1\"}\n    rlimits: [\"nofile,1024,2048\", \"RLIMIT_CORE,0,0\"]\n"
                        "    uidMappings: [{containerID: 0, hostID: 1000, size: 1}]\n"
                        "    gidMappings: [{containerID: 0, hostID: 1000, size: 1}]\n"
                        "    annotations: {a: b}\n    maskedPaths: []\n    seccomp: unconfined\n"
                        "    runtime: {mkdir: [/var/x], cgroups: [berth/s]}\n");
    const ContainerSpec& c = s.services[0];
    SecurityDefaults sec;
    sec.seccomp = json{{"defaultAction", "SCMP_ACT_ERRNO"}};
    sec.masked_paths = {"/proc/kcore"};
    sec.readonly_paths = {"/proc/sys"};
    json spec = generate_oci_config(c, {}, sec);
    CHECK(spec["process"]["capabilities"]["ambient"] == json{"CAP_NET_RAW"});
    CHECK(mount_at(spec, "/m")["type"] == "tmpfs");
    CHECK(mount_at(spec, "/t")["options"] == json{"size=2m", "mode=1777"});
    CHECK(spec["linux"]["devices"][0]["fileMode"] == 0666);
    CHECK(spec["linux"]["namespaces"] ==
          json::parse(R"([{"type":"pid"},{"type":"mount"},{"type":"network","path":"/run/netns/x"},)"
                      R"({"type":"user"},{"type":"cgroup"}])"));
    CHECK(spec["process"]["user"]["additionalGids"] == json{5, 6});
    CHECK(spec["process"]["noNewPrivileges"] == false);
    CHECK(spec["process"]["oomScoreAdj"] == -500);
    CHECK(spec["process"]["apparmorProfile"] == "berth-test");
    CHECK(spec["linux"]["rootfsPropagation"] == "rshared");
    CHECK(spec["linux"]["cgroupsPath"] == "/berth/s");
    CHECK(spec["linux"]["resources"]["memory"]["limit"] == 1000000);
    CHECK(spec["linux"]["sysctl"]["net.ipv4.ip_forward"] == "1");
    CHECK(spec["process"]["rlimits"][0] == json{{"type", "RLIMIT_NOFILE"}, {"soft", 1024}, {"hard", 2048}});
    CHECK(spec["linux"]["uidMappings"][0]["hostID"] == 1000);
    CHECK(spec["annotations"]["a"] == "b");
    // Opt-outs: no masked paths, no seccomp; read-only paths keep berth's default.
    CHECK(spec["linux"]["maskedPaths"] == json::array());
    CHECK_FALSE(spec["linux"].contains("seccomp"));
    CHECK(spec["linux"]["readonlyPaths"] == json{"/proc/sys"});
    json rt = generate_runtime_json(c);
    CHECK(rt["mkdir"] == json{"/var/x"});
    CHECK(rt["cgroups"] == json{"berth/s"});
    // bindNS reaches runtime.json; what PID 1 would refuse fails the build.
    json bound = generate_runtime_json(parse(std::string(kHead) + "    runtime: {bindNS: {net: /run/netns/s}}\n").services[0]);
    CHECK(bound["bindNS"] == json{{"net", "/run/netns/s"}});
    CHECK_THROWS_WITH(generate_runtime_json(parse(std::string(kHead) + "    runtime: {bindNS: {network: /run/netns/s}}\n").services[0]),
                      Contains("bindNS.network: unknown namespace"));
    // So do interfaces, with the same checks.
    json ifs = generate_runtime_json(
        parse(std::string(kHead) + "    runtime: {interfaces: [{name: eth0, peer: eth0-root, createInRoot: false}]}\n").services[0]);
    CHECK(ifs["interfaces"] == json::array({{{"name", "eth0"}, {"add", "veth"}, {"peer", "eth0-root"}}}));
    CHECK_THROWS_WITH(generate_runtime_json(parse(std::string(kHead) + "    runtime: {interfaces: [{name: eth0, add: veth}]}\n").services[0]),
                      Contains("services[0].runtime.interfaces[0].peer: required for a veth pair"));
    CHECK_THROWS_WITH(parse(std::string(kHead) + "    runtime: {namespace: other}\n"),
                      Contains("services[0].runtime.namespace: 'namespace' is refused: it names the containerd namespace"));

    // berth's defaults apply when the YAML says nothing.
    json def = generate_oci_config(parse(kHead).services[0], {}, sec);
    CHECK(def["linux"]["seccomp"] == sec.seccomp);
    CHECK(def["linux"]["maskedPaths"] == json{"/proc/kcore"});
}

TEST_CASE("keys: malformed values point at the value", "[builder][keys]") {
    std::string h = kHead;
    CHECK_THROWS_WITH(parse(h + "    oomScoreAdj: 5000\n"), Contains("t.yml:7:18: services[0].oomScoreAdj: expected a number from -1000 to 1000"));
    CHECK_THROWS_WITH(parse(h + "    rlimits: [\"nofil,1,2\"]\n"), Contains("unknown resource 'nofil'; did you mean 'nofile'?"));
    CHECK_THROWS_WITH(parse(h + "    devices: [{path: /dev/x, type: z}]\n"), Contains("services[0].devices[0].type: expected c, b, u or p"));
    CHECK_THROWS_WITH(parse(h + "    mounts: [{destinaton: /x}]\n"), Contains("did you mean 'destination'?"));
    CHECK_THROWS_WITH(parse(h + "    runtime: {mkdirs: []}\n"), Contains("unknown key 'mkdirs'; did you mean 'mkdir'?"));
    CHECK_THROWS_WITH(parse(h + "    seccomp: off\n"), Contains("expected default or unconfined"));
    CHECK_THROWS_WITH(parse(h + "    restrat: always\n"), Contains("t.yml:7:5: services[0]: unknown key 'restrat'; did you mean 'restart'?"));
}

TEST_CASE("keys: berth's policy keys are checked and go to runtime.json", "[builder][keys][policy]") {
    std::string h = kHead;
    ImageSpec s = parse(h + "    restart: always\n    restartDelay: 250ms\n    stopTimeout: 5\n    stopSignal: SIGINT\n"
                            "    giveUp: {failures: 5, window: 1m, action: reboot}\n"
                            "    readiness: {type: notify-fd, fd: 3, timeout: 10s}\n    watchdog: 30s\n"
                            "    log: {file: true, maxSize: 512KiB, keep: 3}\n"
                            "  - name: db\n    image: i\n    command: [y]\n");
    REQUIRE_NOTHROW(check_policy(s.services[0]));
    json rt = generate_runtime_json(s.services[0]);
    CHECK(rt["berth"]["restart"] == "always");
    CHECK(rt["berth"]["giveUp"]["action"] == "reboot");
    CHECK(rt["berth"]["stopTimeout"] == "5s");  // written by the policy model, read back the same

    auto policy_error = [&](const std::string& extra) {
        ImageSpec bad = parse(h + extra);
        check_policy(bad.services[0]);
    };
    CHECK_THROWS_WITH(policy_error("    restart: sometimes\n"),
                      Contains("t.yml:7:14: services[0].restart: expected one of no, on-failure, always"));
    CHECK_THROWS_WITH(policy_error("    restartDelay: -1s\n"), Contains("t.yml:7:19: services[0].restartDelay: negative duration"));
    CHECK_THROWS_WITH(policy_error("    readiness: {type: notify-fd, fd: 1}\n"), Contains("services[0].readiness.fd: expected an integer from 3 to 1023, got 1"));
    CHECK_THROWS_WITH(policy_error("    log: {maxsize: 1}\n"), Contains("t.yml:7:11: services[0].log: unknown key 'maxsize'; did you mean 'maxSize'?"));
    // The builder and PID 1 share the parser: what PID 1 would reject fails the build.
    CHECK_THROWS_WITH(policy_error("    log: {maxSize: 100}\n"), Contains("services[0].log.maxSize: expected a size of at least 4KiB"));
    CHECK_THROWS_WITH(policy_error("    restartDelay: 10s\n    restartDelayMax: 1s\n"),
                      Contains("services[0].restartDelayMax: shorter than restartDelay"));
    CHECK_THROWS_WITH(policy_error("    giveUp: {window: 1m}\n"), Contains("services[0].giveUp.failures: required"));
    CHECK_THROWS_WITH(policy_error("    onFailure: poweroff\n"), Contains("'onFailure' applies to onboot containers only"));

    ImageSpec dep = parse(h + "    dependsOn: [dbb]\n  - name: db\n    image: i\n    command: [y]\n");
    CHECK_THROWS_WITH(check_dependencies(dep), Contains("t.yml:7:17: services[0].dependsOn[0]: no service named 'dbb'; did you mean 'db'?"));
    // PID 1 fails every service on a cycle at boot; the build refuses it.
    ImageSpec cycle = parse(h + "    dependsOn: [db]\n  - name: db\n    image: i\n    command: [y]\n    waitsFor: [s]\n");
    CHECK_THROWS_WITH(check_dependencies(cycle), Contains("t.yml:7:16: services[0].dependsOn: dependency cycle: db -> s -> db"));
    ImageSpec self = parse(h + "    after: [s]\n");
    CHECK_THROWS_WITH(check_dependencies(self), Contains("cannot depend on itself"));
    ImageSpec wd = parse(std::string(kHead) + "watchdog: {device: /dev/watchdog0, timeout: 60s, interval: 10s}\n");
    CHECK(*wd.watchdog == berth::config::WatchdogConfig{"/dev/watchdog0", 60, 10000});
    CHECK_THROWS_WITH(parse(std::string(kHead) + "watchdog: {timeout: soon}\n"), Contains("watchdog.timeout: expected a non-negative duration"));
}

// PID 1 loads every bundle with oci::parse_spec; what it would refuse at boot
// fails the build at the YAML key it comes from.
TEST_CASE("keys: a config.json PID 1 would refuse is a build error at its line", "[builder][keys][oci]") {
    auto error_of = [](const std::string& extra) -> std::string {
        try {
            generate_oci_config(parse(std::string(kHead) + extra).services[0]);
        } catch (const YamlError& e) {
            return e.what();
        }
        return "";
    };
    CHECK_THAT(error_of("    resources:\n      memory:\n        swappiness: 10\n"),
               Contains("t.yml:9:21: services[0].resources.memory.swappiness: cgroup v2 has no per-cgroup swappiness"));
    CHECK_THAT(error_of("    userns: new\n    uidMappings: [{containerID: 0, hostID: 1000, size: 1}]\n"),
               Contains("t.yml:4:5: services[0].gidMappings: required with a new user namespace"));
    CHECK_THAT(error_of("    rlimits: [\"nofile,2048,1024\"]\n"),
               Contains("t.yml:7:15: services[0].rlimits[0]: soft limit 2048 is above hard limit 1024"));
    CHECK(error_of("    resources: {memory: {limit: 1000000}}\n").empty());
}

// PID 1 refuses a watchdog timeout under a second (the driver takes whole
// seconds) and boots without the watchdog: the build must refuse it first, at its line.
TEST_CASE("keys: a watchdog PID 1 would refuse is a build error at its line", "[builder][keys][watchdog]") {
    std::string head = std::string(kHead);
    int line = int(std::count(head.begin(), head.end(), '\n')) + 2;
    CHECK_THROWS_WITH(parse(head + "watchdog:\n  timeout: 500ms\n"),
                      Contains("t.yml:" + std::to_string(line) + ":12: watchdog.timeout: must be between 1s and 1h"));
    CHECK_THROWS_WITH(parse(head + "watchdog:\n  interval: 50ms\n"),
                      Contains("t.yml:" + std::to_string(line) + ":13: watchdog.interval: must be at least 100ms"));
    ImageSpec ok = parse(head + "watchdog:\n  timeout: 1m\n");
    CHECK(ok.watchdog->timeout_s == 60);
}

// The emergency path's choice: PID 1 reads it from image.json; what it would
// refuse fails the build at its line.
TEST_CASE("keys: emergency {action, delay} is checked by PID 1's model, at its line", "[builder][keys][emergency]") {
    std::string head = std::string(kHead);
    int line = int(std::count(head.begin(), head.end(), '\n')) + 2;
    ImageSpec ok = parse(head + "emergency:\n  action: shell\n  delay: 30s\n");
    REQUIRE(ok.emergency);
    CHECK(*ok.emergency == berth::config::EmergencyConfig{berth::config::EmergencyAction::shell, 30000});
    CHECK(parse(head + "emergency: {action: poweroff}\n").emergency->delay_ms == 10000);
    CHECK_FALSE(parse(head).emergency);
    CHECK_THROWS_WITH(parse(head + "emergency:\n  action: explode\n"),
                      Contains("t.yml:" + std::to_string(line) + ":11: emergency.action: expected one of reboot, poweroff, halt, shell"));
    CHECK_THROWS_WITH(parse(head + "emergency:\n  delay: 2h\n"),
                      Contains("t.yml:" + std::to_string(line) + ":10: emergency.delay: must be at most 1h"));
}

TEST_CASE("keys: the image label gives defaults that the YAML overrides key by key", "[builder][keys][label]") {
    ImageSpec s = parse(std::string(kHead) + "    binds.add: [/c:/c]\n    net: new\n");
    json label = json::parse(R"({"capabilities": ["CAP_SYS_ADMIN"], "binds": ["/a:/a", "/b:/b"], "net": "host",
                                 "pid": "host", "restart": "always"})");
    ContainerSpec m = merge_label(s.services[0], label, "image `i` label");
    CHECK(m.capabilities == std::vector<std::string>{"CAP_SYS_ADMIN"});
    REQUIRE(m.binds.size() == 3);
    CHECK(m.binds[2].destination == "/c");
    CHECK(m.net == Namespace::fresh);
    CHECK(m.pid == Namespace::host);
    CHECK(m.policy["restart"] == "always");
    ImageSpec o = parse(std::string(kHead) + "    binds: [/z:/z]\n");
    CHECK(merge_label(o.services[0], label, "l").binds.size() == 1);
    CHECK_THROWS_WITH(merge_label(s.services[0], json::parse(R"({"capabilites": []})"), "image `i` label"),
                      Contains("image `i` label: unknown key 'capabilites'; did you mean 'capabilities'?"));
}

TEST_CASE("bundles: a writable container gets lower/ and an overlay in runtime.json", "[builder][bundle]") {
    test::TempDir tmp;
    fs::mkdir_p(tmp / "img/bin");
    fs::write_file(tmp / "img/bin/sh", "sh", 0755);
    ImageSpec s = parse(std::string(kHead) + "    readonly: false\n");
    ResolvedImage ri;
    ri.path = tmp / "img";
    ri.reference = "i";
    Tree tree;
    Bundle b = add_bundle(tree, s.services[0], ri, {});
    CHECK(b.image_root == "containers/services/s/lower");
    CHECK(tree.contains("containers/services/s/lower/bin/sh"));
    CHECK(tree.find("containers/services/s/rootfs")->kind == TreeEntry::Kind::directory);
    CHECK(tree.contains("containers/services/s/tmp"));
    json rt = json::parse(b.runtime_text);
    // LinuxKit's shape: absolute paths (relative ones would mean "under rootfs/").
    CHECK(rt["mounts"][0] == json::parse(R"({"destination": "/containers/services/s/tmp", "type": "tmpfs",
                                             "source": "tmpfs", "options": ["nodev", "nosuid", "noexec"]})"));
    CHECK(rt["mounts"][1] == json::parse(R"({"destination": "/containers/services/s/tmp",
                                             "options": ["remount", "private"]})"));
    CHECK(rt["mounts"][2]["destination"] == "/containers/services/s/rootfs");
    CHECK(rt["mounts"][2]["options"] == json{"lowerdir=/containers/services/s/lower",
                                             "upperdir=/containers/services/s/tmp/upper",
                                             "workdir=/containers/services/s/tmp/work"});
    CHECK(json::parse(b.config_text)["root"]["readonly"] == false);
}

TEST_CASE("bundles: systemd readiness gets its notify mount point in a read-only root", "[builder][bundle]") {
    test::TempDir tmp;
    fs::mkdir_p(tmp / "img/bin");
    fs::write_file(tmp / "img/bin/sh", "sh", 0755);
    ResolvedImage ri;
    ri.path = tmp / "img";
    ri.reference = "i";
    Tree tree;
    ImageSpec s = parse(std::string(kHead) + "    readiness: {type: systemd}\n");
    Bundle b = add_bundle(tree, s.services[0], ri, {});
    const TreeEntry* e = tree.find(b.image_root + "/run/berth/notify/" + s.services[0].name);
    REQUIRE(e);
    CHECK(e->kind == TreeEntry::Kind::directory);
    Tree plain;
    ImageSpec n = parse(std::string(kHead));
    Bundle c = add_bundle(plain, n.services[0], ri, {});
    CHECK_FALSE(plain.contains(c.image_root + "/run/berth"));
}

TEST_CASE("bundles: the seccomp profile ships compiled for the image's architecture", "[builder][bundle]") {
    test::TempDir tmp;
    fs::mkdir_p(tmp / "img/bin");
    fs::write_file(tmp / "img/bin/sh", "sh", 0755);
    ResolvedImage ri;
    ri.path = tmp / "img";
    ri.reference = "i";
    SecurityDefaults sec;
    sec.seccomp = oci::load_default_seccomp_json();
    for (Arch arch : {Arch::amd64, Arch::arm64}) {
        Tree tree;
        Bundle b = add_bundle(tree, parse(std::string(kHead)).services[0], ri, sec);
        REQUIRE(add_seccomp_program(tree, b, arch));
        const TreeEntry* e = tree.find(b.dir + "/seccomp.bpf");
        REQUIRE(e);
        oci::SeccompProgramFile f = oci::decode_seccomp_program(e->data);
        const oci::Seccomp profile = *oci::parse_spec(json::parse(b.config_text), "config.json").linux_.seccomp;
        CHECK(f.made_from.arch == (arch == Arch::arm64 ? "aarch64" : "x86_64"));
        CHECK(f.made_from.profile_digest == oci::seccomp_profile_digest(profile));
        CHECK(f.made_from.libseccomp == runtime::libseccomp_version());
        if (f.made_from.arch == runtime::seccomp_native_arch()) {
            const auto boot = runtime::compile_seccomp(profile);
            REQUIRE(boot.insns.size() == f.insns.size());
            CHECK(std::memcmp(boot.insns.data(), f.insns.data(), f.insns.size() * sizeof(sock_filter)) == 0);
        }
    }
    // seccomp: unconfined has no profile, so no program.
    Tree tree;
    Bundle b = add_bundle(tree, parse(std::string(kHead) + "    seccomp: unconfined\n").services[0], ri, sec);
    CHECK_FALSE(add_seccomp_program(tree, b, Arch::amd64));
    CHECK_FALSE(tree.contains(b.dir + "/seccomp.bpf"));
}

TEST_CASE("outputs: tar is deterministic and keeps owners, links and xattrs", "[builder][outputs]") {
    test::TempDir tmp;
    auto make = [](Tree& t) {
        t.add_directory("etc", 0755);
        t.add_bytes("etc/a", "A", 0640, 5, 6);
        TreeEntry e;
        e.kind = TreeEntry::Kind::bytes_file;
        e.data = "P";
        e.size = 1;
        e.mode = 0755;
        e.host_dev = dev_t(-2);
        e.host_ino = 7;
        e.xattrs["security.capability"] = "cap";
        t.add_entry("bin/p", e);
        t.add_entry("bin/q", e);
        t.add_symlink("l", "etc/a");
    };
    Tree t1, t2;
    make(t1);
    make(t2);
    write_tar(t1, tmp / "a.tar", 1700000000);
    write_tar(t2, tmp / "b.tar", 1700000000);
    CHECK(fs::read_file(tmp / "a.tar") == fs::read_file(tmp / "b.tar"));
    std::string listing;
    FILE* p = ::popen(("tar --xattrs --numeric-owner -tvf " + tmp / "a.tar").c_str(), "r");
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) listing += buf;
    ::pclose(p);
    CHECK_THAT(listing, Contains("-rw-r-----  5/6") && Contains("etc/a"));
    CHECK_THAT(listing, Contains("bin/q link to bin/p"));
    CHECK_THAT(listing, Contains("l -> etc/a"));
    // Read back as a layer: the xattr survives the round trip.
    Tree back;
    apply_layer(back, "r", tmp / "a.tar", "tar");
    CHECK(back.find("r/bin/p")->xattrs.at("security.capability") == "cap");
}

TEST_CASE("keys: resources are checked against the OCI model's keys, LinuxKit's spellings taken",
          "[builder][keys][resources]") {
    std::string h = kHead;
    // LinuxKit's schema spells blockIO `blockio` and declares hugepage sizes as integers.
    ImageSpec s = parse(h + "    resources:\n"
                            "      blockio: {weight: 100, throttleReadBpsDevice: [{major: 8, minor: 0, rate: 1048576}]}\n"
                            "      hugepageLimits: [{pageSize: 2097152, limit: 4194304}]\n"
                            "      memory: {limit: 1000000, kernel: 5}\n");
    json spec = generate_oci_config(s.services[0], {}, SecurityDefaults{});
    const json& r = spec["linux"]["resources"];
    CHECK(r["blockIO"]["weight"] == 100);
    CHECK(r["blockIO"]["throttleReadBpsDevice"][0]["rate"] == 1048576);
    CHECK(r["hugepageLimits"][0]["pageSize"] == "2MB");
    CHECK(r["memory"]["limit"] == 1000000);
    {
        // memory.kernel: accepted, ignored, and the warning says where it is written.
        testing::LogCapture log;
        parse(h + "    resources:\n      memory: {kernel: 5}\n");
        INFO(log.text());
        CHECK(log.has("t.yml:8:24: services[0].resources.memory.kernel: ignored: a cgroup v1 kernel-memory limit"));
    }

    // A key the model would ignore is refused where it is written, with a suggestion.
    CHECK_THROWS_WITH(parse(h + "    resources: {bogusResource: {x: 1}}\n"),
                      Contains("t.yml:7:17: services[0].resources: unknown key 'bogusResource'"));
    CHECK_THROWS_WITH(parse(h + "    resources: {memory: {limt: 1}}\n"),
                      Contains("services[0].resources.memory: unknown key 'limt'; did you mean 'limit'?"));
    CHECK_THROWS_WITH(parse(h + "    resources: {devices: [{allow: true, bogus: 1}]}\n"),
                      Contains("services[0].resources.devices[0]: unknown key 'bogus'"));
    CHECK_THROWS_WITH(parse(h + "    resources: {blockio: {weight: 1}, blockIO: {weight: 2}}\n"),
                      Contains("given twice"));
    CHECK_THROWS_WITH(parse(h + "    resources: {pids: 5}\n"), Contains("services[0].resources.pids: expected a map, got '5'"));
    // The value is still checked by the model PID 1 reads it with.
    // ... and reported where the file wrote it, with the file's spelling.
    CHECK_THROWS_WITH(generate_oci_config(parse(h + "    resources:\n      blockio: {weight: \"abc\"}\n").services[0], {},
                                          SecurityDefaults{}),
                      Contains("t.yml:8:25: services[0].resources.blockio.weight"));
    CHECK_THROWS_WITH(generate_oci_config(parse(h + "    resources:\n      blockIO: {weight: \"abc\"}\n").services[0], {},
                                          SecurityDefaults{}),
                      Contains("t.yml:8:25: services[0].resources.blockIO.weight"));
}
