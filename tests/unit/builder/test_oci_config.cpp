#include <catch2/catch.hpp>

#include "builder/capabilities.hpp"
#include "builder/oci_config_gen.hpp"

using namespace berth::builder;
using nlohmann::json;
using Catch::Matchers::Contains;

namespace {

ContainerSpec service(const std::string& extra = "") {
    ImageSpec s = parse_image_yaml("kernel:\n  package: k\nservices:\n  - name: web\n    image: busybox\n"
                                   "    command: [httpd, -f]\n" + extra,
                                   "t.yml", ".");
    return s.services.at(0);
}

json find_mount(const json& spec, const std::string& dst) {
    for (const auto& m : spec["mounts"])
        if (m["destination"] == dst) return m;
    return json();
}

std::vector<std::string> ns_types(const json& spec) {
    std::vector<std::string> out;
    for (const auto& n : spec["linux"]["namespaces"]) out.push_back(n["type"]);
    return out;
}

}  // namespace

TEST_CASE("oci: LinuxKit defaults", "[builder][oci]") {
    json spec = generate_oci_config(service());
    CHECK(spec["ociVersion"] == "1.0.2");
    CHECK(spec["root"] == json{{"path", "rootfs"}, {"readonly", false}});  // LinuxKit: writable
    CHECK(spec["process"]["args"] == json{"httpd", "-f"});
    CHECK(spec["process"]["cwd"] == "/");
    CHECK(spec["process"]["env"] == json{kDefaultPath});
    CHECK(spec["process"]["noNewPrivileges"] == true);
    CHECK(spec["process"]["user"] == json{{"uid", 0}, {"gid", 0}});
    for (const char* set : {"bounding", "effective", "inheritable", "permitted", "ambient"})
        CHECK(spec["process"]["capabilities"][set] == json::array());
    CHECK(ns_types(spec) == std::vector<std::string>{"pid", "mount"});
    CHECK_FALSE(spec.contains("hostname"));

    std::vector<std::string> dsts;
    for (const auto& m : spec["mounts"]) dsts.push_back(m["destination"]);
    CHECK(dsts == std::vector<std::string>{"/dev", "/dev/pts", "/proc", "/sys", "/sys/fs/cgroup"});
    CHECK(find_mount(spec, "/proc")["options"] == json{"nosuid", "nodev", "noexec", "relatime"});
    CHECK(find_mount(spec, "/dev")["type"] == "tmpfs");
    CHECK(find_mount(spec, "/dev")["options"] == json{"nosuid", "strictatime", "mode=755", "size=65536k"});
    CHECK(find_mount(spec, "/dev/pts")["options"] ==
          json{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"});
    CHECK(find_mount(spec, "/sys")["options"] == json{"nosuid", "noexec", "nodev", "ro"});
    CHECK(find_mount(spec, "/sys/fs/cgroup")["type"] == "cgroup2");
    CHECK(find_mount(spec, "/sys/fs/cgroup")["options"] == json{"ro", "nosuid", "noexec", "nodev"});
}

TEST_CASE("oci: capabilities, namespaces, binds and env follow the YAML", "[builder][oci]") {
    json spec = generate_oci_config(service(
        "    capabilities: [CAP_NET_BIND_SERVICE, CAP_CHOWN]\n"
        "    net: new\n    ipc: new\n    uts: new\n    pid: host\n"
        "    binds: [\"/etc/web:/www:ro\", \"/var:/var\"]\n"
        "    env: [PATH=/bin, A=1]\n    cwd: /www\n    readonly: false\n"));
    json caps = json{"CAP_CHOWN", "CAP_NET_BIND_SERVICE"};
    for (const char* set : {"bounding", "effective", "inheritable", "permitted"})
        CHECK(spec["process"]["capabilities"][set] == caps);
    CHECK(spec["process"]["capabilities"]["ambient"] == json::array());
    CHECK(ns_types(spec) == std::vector<std::string>{"mount", "network", "ipc", "uts"});
    CHECK(spec["hostname"] == "web");
    // A new network namespace does not make sysfs writable: host-wide files live there too.
    CHECK(find_mount(spec, "/sys")["options"] == json{"nosuid", "noexec", "nodev", "ro"});
    CHECK(find_mount(spec, "/www") ==
          json{{"destination", "/www"}, {"type", "bind"}, {"source", "/etc/web"},
               {"options", {"ro", "rbind", "rprivate"}}});
    CHECK(find_mount(spec, "/var")["options"] == json{"rw", "rbind", "rshared"});  // LinuxKit's default
    CHECK(spec["process"]["env"] == json{"PATH=/bin", "A=1"});
    CHECK(spec["process"]["cwd"] == "/www");
    CHECK(spec["root"]["readonly"] == false);
}

TEST_CASE("oci: a bind naming its propagation keeps it; bare binds are rshared, others rprivate", "[builder][oci]") {
    json spec = generate_oci_config(service(
        "    binds: [\"/var:/var:rshared,rbind\", \"/dev:/dev\"]\n    rootfsPropagation: shared\n"));
    CHECK(find_mount(spec, "/var")["options"] == json{"rshared", "rbind"});  // one rbind, not two
    CHECK(find_mount(spec, "/dev")["options"] == json{"rw", "rbind", "rshared"});
    json one_level = generate_oci_config(service("    binds: [\"/srv:/srv:ro,bind\"]\n"));
    CHECK(find_mount(one_level, "/srv")["options"] == json{"ro", "bind", "rprivate"});
    CHECK(spec["linux"]["rootfsPropagation"] == "shared");
}

TEST_CASE("oci: a non-root user gets the capabilities as ambient ones; all expands", "[builder][oci]") {
    json spec = generate_oci_config(service("    uid: 33\n    gid: 33\n    capabilities: [CAP_NET_BIND_SERVICE]\n"));
    CHECK(spec["process"]["capabilities"]["ambient"] == json{"CAP_NET_BIND_SERVICE"});
    CHECK(spec["process"]["user"] == json{{"uid", 33}, {"gid", 33}});
    json all = generate_oci_config(service("    capabilities: [all]\n    uts: new\n    hostname: h\n"));
    CHECK(all["process"]["capabilities"]["bounding"].size() == all_capability_names().size());
    CHECK(all["hostname"] == "h");
}

TEST_CASE("oci: a missing command is a clear error; output is deterministic", "[builder][oci]") {
    ImageSpec s = parse_image_yaml("kernel:\n  package: k\nonboot:\n  - name: x\n    image: y\n", "t.yml", ".");
    CHECK_THROWS_WITH(generate_oci_config(s.onboot[0]),
                      Contains("t.yml:4:5: onboot[0]: container 'x' needs a 'command'"));
    CHECK(oci_config_text(service()) == oci_config_text(service()));
    CHECK(oci_config_text(service()).back() == '\n');
}
