// LinuxKit's keys and defaults that berth follows, the merge of several files
// and the collecting validation (`berth validate`).
#include <catch2/catch.hpp>

#include "builder/bundle.hpp"
#include "builder/container_keys.hpp"
#include "builder/oci_config_gen.hpp"
#include "builder/validate.hpp"
#include "common/fs.hpp"
#include "config/runtime_config.hpp"
#include "test_util.hpp"

using namespace berth;
using namespace berth::builder;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

const char* kKernel = "kernel:\n  package: k\n";

ImageSpec parse(const std::string& body) { return parse_image_yaml(std::string(kKernel) + body, "lk.yml", "."); }

ContainerSpec service(const std::string& keys, const std::string& extra_top = "") {
    return parse(extra_top + "services:\n  - name: s\n    image: i\n    command: [x]\n" + keys).services.at(0);
}

json mount_at(const json& spec, const std::string& dst) {
    for (const auto& m : spec["mounts"])
        if (m["destination"] == dst) return m;
    return json();
}

bool has_ns(const json& spec, const std::string& type) {
    for (const auto& n : spec["linux"]["namespaces"])
        if (n["type"] == type) return true;
    return false;
}

}  // namespace

TEST_CASE("linuxkit: mounts get their type and destination as LinuxKit fills them", "[builder][linuxkit]") {
    json spec = generate_oci_config(service(
        "    mounts:\n"
        "      - {type: cgroup, options: [rw]}\n"
        "      - {type: mqueue}\n"
        "      - {source: proc, destination: /hostproc}\n"
        "      - {destination: /dev, options: [nosuid]}\n"
        "      - {type: tmpfs, destination: run/app}\n"));
    CHECK(mount_at(spec, "/sys/fs/cgroup") ==
          json{{"destination", "/sys/fs/cgroup"}, {"type", "cgroup"}, {"source", "cgroup"}, {"options", {"rw"}}});
    CHECK(mount_at(spec, "/dev/mqueue")["type"] == "mqueue");
    CHECK(mount_at(spec, "/hostproc")["type"] == "proc");
    CHECK(mount_at(spec, "/dev")["type"] == "tmpfs");
    CHECK(mount_at(spec, "/run/app")["type"] == "tmpfs");  // relative: inside the container's root
    CHECK_THROWS_WITH(service("    mounts:\n      - {type: tmpfs}\n"),
                      Contains("lk.yml:8:9: services[0].mounts[0]: missing required key 'destination'"));
    CHECK_THROWS_WITH(service("    mounts:\n      - {destination: /srv}\n"), Contains("mount on '/srv' needs a 'type'"));
}

TEST_CASE("linuxkit: relative bind destinations are inside the container", "[builder][linuxkit]") {
    ContainerSpec c = service("    binds: [\"/var/log:var/log:ro\"]\n");
    CHECK(c.binds.at(0).destination == "/var/log");
    CHECK(mount_at(generate_oci_config(c), "/var/log")["source"] == "/var/log");
}

TEST_CASE("linuxkit: mount uidmappings and gidmappings become an idmapped bind", "[builder][linuxkit]") {
    json spec = generate_oci_config(service(
        "    mounts:\n      - type: bind\n        source: /srv\n        destination: /data\n"
        "        uidmappings: [{containerID: 1000, hostID: 0, size: 1}]\n"
        "        gidmappings: [{containerID: 1000, hostID: 0, size: 2}]\n"));
    json m = mount_at(spec, "/data");
    CHECK(m["uidMappings"] == json::parse(R"([{"containerID": 1000, "hostID": 0, "size": 1}])"));
    CHECK(m["gidMappings"] == json::parse(R"([{"containerID": 1000, "hostID": 0, "size": 2}])"));
}

TEST_CASE("linuxkit: capabilities.add, [none] and net: none", "[builder][linuxkit]") {
    ContainerSpec c = service("    capabilities.add: [CAP_SYS_TIME]\n    net: none\n");
    json label = json::parse(R"({"capabilities": ["CAP_NET_ADMIN"]})");
    ContainerSpec m = merge_label(c, label, "label");
    CHECK(m.capabilities == std::vector<std::string>{"CAP_NET_ADMIN", "CAP_SYS_TIME"});
    CHECK(m.net == Namespace::fresh);
    CHECK(has_ns(generate_oci_config(m), "network"));
    // The entry's own list replaces the label's; its .add is then not used (as LinuxKit).
    ContainerSpec own = merge_label(service("    capabilities: [CAP_CHOWN]\n    capabilities.add: [CAP_SYS_TIME]\n"),
                                    label, "label");
    CHECK(own.capabilities == std::vector<std::string>{"CAP_CHOWN"});
    ContainerSpec none = merge_label(service("    capabilities: [none]\n"), label, "label");
    CHECK(none.capabilities.empty());
    CHECK(generate_oci_config(none)["process"]["capabilities"]["bounding"] == json::array());
    CHECK_THROWS_WITH(service("    pid: none\n"), Contains("expected host, new or the absolute path"));
}

TEST_CASE("linuxkit: namespaces `root` and empty, rlimits spaced or upper-case, as LinuxKit reads them",
          "[builder][linuxkit]") {
    CHECK(service("    pid: root\n").pid == Namespace::host);
    CHECK(service("    net: root\n").net == Namespace::host);
    // An empty value is not given: the label's (or the default) stays.
    json label = json::parse(R"({"net": "host", "pid": "host"})");
    ContainerSpec m = merge_label(service("    net: \"\"\n    pid: ''\n"), label, "label");
    CHECK(m.net == Namespace::host);
    CHECK(m.pid == Namespace::host);
    CHECK(service("    pid: \"\"\n").pid == Namespace::fresh);

    ContainerSpec r = service("    rlimits: [\"nofile, 1024, 4096\", \"RLIMIT_CORE,UNLIMITED,Unlimited\"]\n");
    CHECK(r.rlimits == std::vector<std::string>{"nofile,1024,4096", "core,unlimited,unlimited"});
    json rl = generate_oci_config(r)["process"]["rlimits"];
    CHECK(rl[0] == json{{"type", "RLIMIT_NOFILE"}, {"soft", 1024}, {"hard", 4096}});
    CHECK(rl[1]["hard"] == ~std::uint64_t(0));
    CHECK(service("    rlimits: [\"nofile,18446744073709551615,018446744073709551615\"]\n").rlimits.size() == 1);
    CHECK_THROWS_WITH(service("    rlimits: [\"nofile,18446744073709551616,1\"]\n"),
                      Contains("rlimits[0]: expected \"resource,soft,hard\""));
    CHECK_THROWS_WITH(service("    rlimits: [\"nofile,1,2,3\"]\n"), Contains("rlimits[0]: expected \"resource,soft,hard\""));
}

TEST_CASE("linuxkit: YAML merge keys, as LinuxKit's YAML reader applies them", "[builder][linuxkit][yaml]") {
    ImageSpec s = parse("onboot:\n"
                        "  - &a {name: a, image: i, net: host, command: [x]}\n"
                        "  - <<: *a\n"
                        "    name: b\n"
                        "services:\n"
                        "  - <<: [{name: c, pid: host}, *a]\n"
                        "    command: [y]\n");
    REQUIRE(s.onboot.size() == 2);
    CHECK(s.onboot[1].name == "b");
    CHECK(s.onboot[1].image == "i");
    CHECK(s.onboot[1].net == Namespace::host);
    REQUIRE(s.services.size() == 1);
    CHECK(s.services[0].name == "c");  // the first merged map wins over the later one
    CHECK(s.services[0].pid == Namespace::host);
    CHECK(s.services[0].command == std::vector<std::string>{"y"});  // the entry's own key wins
    // A value from a merged map is reported where it is written.
    CHECK_THROWS_WITH(parse("onboot:\n  - name: b\n    image: i\n    <<: &d {oomScoreAdj: 5000}\n"),
                      Contains("lk.yml:6:26: onboot[0].oomScoreAdj"));
    CHECK_THROWS_WITH(parse("onboot:\n  - <<: 3\n    name: b\n"), Contains("lk.yml:4:9: a merge key '<<' takes a map"));
    // Quoted, it is an ordinary (here unknown) key.
    CHECK_THROWS_WITH(parse("onboot:\n  - {\"<<\": {name: a}, name: b, image: i}\n"), Contains("unknown key '<<'"));
}

TEST_CASE("linuxkit: image references are checked where they are written, by validate too", "[builder][linuxkit]") {
    CHECK_THROWS_WITH(parse("services:\n  - {name: s, image: Foo/Bar}\n"), Contains("lk.yml:4:22: services[0].image: ") && Contains("lower-case"));
    CHECK_THROWS_WITH(parse("onboot:\n  - {name: s, image: \"@pkg:../pkg/foo\"}\n"),
                      Contains("@pkg: build templates are not supported"));
    CHECK_THROWS_WITH(parse("init: [\"a b\"]\n"), Contains("lk.yml:3:8: init[0]: "));
    CHECK(parse("services:\n  - {name: s, image: ./dir/Not_A_Ref}\n").services[0].image == "./dir/Not_A_Ref");
}

TEST_CASE("linuxkit: devices path all allows a class of devices in the device cgroup", "[builder][linuxkit]") {
    json spec = generate_oci_config(service(
        "    devices:\n      - {path: all, type: b}\n      - {path: /dev/fuse, type: c, major: 10, minor: 229, mode: \"0666\"}\n"));
    REQUIRE(spec["linux"]["devices"].size() == 1);
    CHECK(spec["linux"]["devices"][0]["path"] == "/dev/fuse");
    CHECK(spec["linux"]["resources"]["devices"] ==
          json::parse(R"([{"allow": true, "type": "b", "access": "rwm"}])"));
    CHECK_THROWS_WITH(service("    devices:\n      - {path: all, type: p}\n"), Contains("expected c, b or a (every device)"));
}

TEST_CASE("berth devices: match entries go to runtime.json, with a device cgroup that denies the rest",
          "[builder][linuxkit][devices]") {
    ContainerSpec c = service(
        "    devices:\n"
        "      - {path: /dev/fuse, type: c, major: 10, minor: 229}\n"
        "      - {match: /dev/disk/by-id/virtio-data*, mode: \"0600\", uid: 999}\n"
        "      - match: \"1AF4:1042\"\n");
    json spec = generate_oci_config(c);
    REQUIRE(spec["linux"]["devices"].size() == 1);  // the fixed entry only
    CHECK(spec["linux"]["devices"][0]["path"] == "/dev/fuse");
    CHECK(spec["linux"]["resources"]["devices"] == json::parse(R"([{"allow": false, "type": "a", "access": "rwm"}])"));
    json rt = generate_runtime_json(c);
    CHECK(rt["berth"]["devices"] == json::parse(R"([{"match": "/dev/disk/by-id/virtio-data*", "mode": "0600", "uid": 999},
                                                   {"match": "1af4:1042", "mode": "0660"}])"));
    // PID 1 reads it back with the same model.
    config::RuntimeConfig back = config::parse_runtime_config(rt, "runtime.json");
    REQUIRE(back.berth.devices.size() == 2);
    CHECK(back.berth.devices[0].by == config::DeviceMatch::By::disk_link);
    // The spec's own device rules are kept as they are.
    json own = generate_oci_config(service(
        "    devices: [{match: /dev/vdb}]\n"
        "    resources: {devices: [{allow: false, access: rwm}, {allow: true, type: c, major: 10, access: rw}]}\n"));
    CHECK(own["linux"]["resources"]["devices"].size() == 2);
    // Without a match entry nothing changes.
    CHECK_FALSE(generate_oci_config(service("    devices: [{path: /dev/fuse, type: c, major: 10, minor: 229}]\n"))
                    ["linux"].contains("resources"));
    CHECK_FALSE(generate_runtime_json(service("    devices: []\n")).contains("berth"));
}

TEST_CASE("berth devices: a bad match entry names the file, the field and the reason", "[builder][linuxkit][devices]") {
    CHECK_THROWS_WITH(service("    devices:\n      - {match: /etc/shadow}\n"),
                      Contains("lk.yml:8:17: services[0].devices[0].match: \"/etc/shadow\" is not under /dev"));
    CHECK_THROWS_WITH(service("    devices:\n      - {match: /dev/vdb, major: 254}\n"),
                      Contains("services[0].devices[0].major: a matched device gets its name, type and numbers"));
    CHECK_THROWS_WITH(service("    devices:\n      - {match: /dev/vdb, mode: rw}\n"),
                      Contains("services[0].devices[0].mode: expected an octal permission mode"));
    CHECK_THROWS_WITH(service("    devices:\n      - {mtach: /dev/vdb}\n"), Contains("did you mean 'match'?"));
    // A user namespace: refused at the devices line; a path entry is still fine there.
    CHECK_THROWS_WITH(generate_oci_config(service("    userns: new\n    devices:\n      - {match: /dev/vdb}\n")),
                      Contains("lk.yml:9:7: services[0].devices: container 's': devices given by 'match' are not "
                               "supported with a user namespace"));
    CHECK_NOTHROW(generate_oci_config(service(
        "    userns: new\n    uidMappings: [{containerID: 0, hostID: 1000, size: 1}]\n"
        "    gidMappings: [{containerID: 0, hostID: 1000, size: 1}]\n"
        "    devices: [{path: /dev/fuse, type: c, major: 10, minor: 229}]\n")));
}

TEST_CASE("linuxkit: writable roots and rshared binds by default; berth.strict opts out", "[builder][linuxkit]") {
    ContainerSpec lk = service("    binds: [/etc/resolv.conf:/etc/resolv.conf]\n");
    CHECK_FALSE(lk.readonly);
    json spec = generate_oci_config(lk);
    CHECK(spec["root"]["readonly"] == false);
    CHECK(mount_at(spec, "/etc/resolv.conf")["options"] == json{"rw", "rbind", "rshared"});

    ImageSpec strict = parse("berth:\n  strict: true\nservices:\n  - name: s\n    image: i\n    command: [x]\n"
                             "    binds: [/a:/a]\n  - name: w\n    image: i\n    readonly: false\n");
    CHECK(strict.services[0].readonly);
    CHECK_FALSE(strict.services[1].readonly);  // the entry's own key wins
    json st = generate_oci_config(strict.services[0]);
    CHECK(st["root"]["readonly"] == true);
    CHECK(mount_at(st, "/a")["options"] == json{"rw", "rbind", "rprivate"});
    // The image label is applied over the strict default, the entry over both.
    CHECK(merge_label(strict.services[0], json::object(), "l").readonly);
    CHECK_FALSE(merge_label(service(""), json::parse(R"({"readonly": false})"), "l").readonly);
}

TEST_CASE("linuxkit: volumes and binds naming them", "[builder][linuxkit]") {
    ImageSpec s = parse("volumes:\n  - name: data\n  - name: site\n    image: example/site:1\n    readonly: true\n"
                        "services:\n  - name: s\n    image: i\n    command: [x]\n"
                        "    binds: [\"data:/data\", \"site:/www:ro\"]\n");
    REQUIRE(s.volumes.size() == 2);
    CHECK(s.volumes[0].path == "/var/lib/berth/volumes/data");  // read-write: on the /var tmpfs
    CHECK(s.volumes[1].path == "/containers/volumes/site");     // read-only: on the read-only root
    CHECK(s.volumes[1].image == "example/site:1");
    json spec = generate_oci_config(s.services[0]);
    CHECK(mount_at(spec, "/data")["source"] == "/var/lib/berth/volumes/data");
    CHECK(mount_at(spec, "/www")["source"] == "/containers/volumes/site");
    CHECK_THROWS_WITH(parse("volumes:\n  - name: site\n    readonly: true\nservices:\n  - name: s\n    image: i\n"
                            "    binds: [\"site:/www\"]\n"),
                      Contains("lk.yml:9:13: services[0].binds[0]: volume 'site' is read-only"));
    CHECK_THROWS_WITH(parse("services:\n  - name: s\n    image: i\n    binds: [\"nope:/x\"]\n"),
                      Contains("bind source 'nope' names no volume"));
    CHECK_THROWS_WITH(parse("services:\n  - name: s\n    image: i\n    binds: [\"Not.A.Volume:/x\"]\n"),
                      Contains("must be an absolute path or the name of a volume"));
    // A label's bind naming a volume resolves against the image's volumes too.
    ImageSpec plain = parse("volumes:\n  - name: data\nservices:\n  - name: s\n    image: i\n    command: [x]\n");
    ContainerSpec m = merge_label(plain.services[0], json::parse(R"({"binds": ["data:/more"]})"), "l");
    CHECK(mount_at(generate_oci_config(m), "/more")["source"] == "/var/lib/berth/volumes/data");
}

TEST_CASE("linuxkit: a bind of a symbolic link to a file gets a file mount point", "[builder][linuxkit]") {
    Tree tree;
    tree.add_directory("etc", 0755);
    tree.add_bytes("etc/real.conf", "x", 0644);
    tree.add_symlink("etc/link.conf", "real.conf");
    tree.add_symlink("etc/resolv.conf", "/run/resolvconf/resolv.conf");  // made at run time
    tree.add_directory("srv/data", 0755);
    tree.add_symlink("data", "srv/data");
    json config = {{"mounts",
                    {{{"destination", "/a.conf"}, {"type", "bind"}, {"source", "/etc/link.conf"}},
                     {{"destination", "/etc/resolv.conf"}, {"type", "bind"}, {"source", "/etc/resolv.conf"}},
                     {{"destination", "/d"}, {"type", "bind"}, {"source", "/data"}}}}};
    add_mount_points(tree, "c/rootfs", config.dump());
    CHECK(tree.find("c/rootfs/a.conf")->kind == TreeEntry::Kind::bytes_file);
    CHECK(tree.find("c/rootfs/etc/resolv.conf")->kind == TreeEntry::Kind::bytes_file);
    CHECK(tree.find("c/rootfs/d")->kind == TreeEntry::Kind::directory);
}

TEST_CASE("merge: later files append containers, files and volumes; kernel keys override", "[builder][merge]") {
    test::TempDir tmp;
    fs::mkdir_p(tmp / "other");
    fs::write_file(tmp / "base.yml",
                   "kernel:\n  package: linux-image-amd64\n  cmdline: console=ttyS0\n  modules: [virtio_net]\n"
                   "onboot:\n  - name: a\n    image: i\n"
                   "services:\n  - name: web\n    image: ./images/web\n"
                   "files:\n  - path: etc/one\n    contents: x\n",
                   0644);
    fs::write_file(tmp / "other/extra.yml",
                   "kernel:\n  cmdline: console=ttyS0 quiet\n  modules: [wireguard]\n"
                   "onboot:\n  - name: a\n    image: j\n"
                   "services:\n  - name: ssh\n    image: ./images/ssh\n"
                   "files:\n  - path: etc/two\n    source: two.txt\n"
                   "volumes:\n  - name: v\n"
                   "outputs: [tar]\n",
                   0644);
    ImageSpec s = load_image_yamls({tmp / "base.yml", tmp / "other/extra.yml"});
    CHECK(s.kernel.package == "linux-image-amd64");
    CHECK(s.kernel.cmdline == "console=ttyS0 quiet");
    REQUIRE(s.kernel.modules.size() == 2);
    CHECK(s.kernel.modules[1].name == "wireguard");
    REQUIRE(s.onboot.size() == 2);  // the same name twice is fine in onboot
    CHECK(s.onboot[1].index == 1);
    CHECK(s.onboot[1].image == "j");
    REQUIRE(s.services.size() == 2);
    CHECK(s.services[0].image == "./images/web");                  // the first file's directory is the base
    CHECK(s.services[1].image == tmp / "other/images/ssh");        // its own file's directory
    REQUIRE(s.files.size() == 2);
    CHECK(*s.files[1].source == tmp / "other/two.txt");
    CHECK(s.volumes.size() == 1);
    CHECK(s.services[0].volumes.count("v") == 1);  // volumes of any file serve every container
    CHECK(s.outputs == std::vector<std::string>{"tar"});

    fs::write_file(tmp / "dup.yml", "services:\n  - name: web\n    image: k\n", 0644);
    CHECK_THROWS_WITH(load_image_yamls({tmp / "base.yml", tmp / "dup.yml"}),
                      Contains("dup.yml:2:5: services[1]: duplicate service name 'web' (first defined at " +
                               tmp / "base.yml:9:5)"));
    CHECK_THROWS_WITH(load_image_yamls({tmp / "dup.yml"}), Contains("missing required key 'kernel'"));
    fs::write_file(tmp / "cmdline-only.yml", "kernel:\n  cmdline: quiet\n", 0644);
    CHECK_THROWS_WITH(load_image_yamls({tmp / "cmdline-only.yml"}), Contains("missing required key 'image' (or 'package' or 'path')"));
}

TEST_CASE("merge: kernel image keys override one by one; empty values keep LinuxKit's meaning", "[builder][merge]") {
    test::TempDir tmp;
    fs::write_file(tmp / "x86.yml",
                   "kernel:\n  image: linuxkit/kernel:6.6\n  ucode: intel-ucode.cpio\n  binary: bzImage\n", 0644);
    // LinuxKit's arm64 fragment: no image of its own, only the microcode switched off.
    fs::write_file(tmp / "arm64.yml", "kernel:\n  cmdline: console=ttyAMA0\n  ucode: \"\"\n", 0644);
    ImageSpec s = load_image_yamls({tmp / "x86.yml", tmp / "arm64.yml"});
    CHECK(s.kernel.image == "linuxkit/kernel:6.6");
    CHECK(s.kernel.ucode.empty());
    CHECK(s.kernel.binary == "bzImage");  // not given again: kept
    CHECK(s.kernel.tar == "kernel.tar");

    // A later image keeps the earlier keys it does not give (linuxkit build does).
    fs::write_file(tmp / "other-image.yml", "kernel:\n  image: linuxkit/kernel:6.12\n  tar: \"\"\n  binary: \"\"\n", 0644);
    s = load_image_yamls({tmp / "x86.yml", tmp / "other-image.yml"});
    CHECK(s.kernel.image == "linuxkit/kernel:6.12");
    CHECK(s.kernel.ucode == "intel-ucode.cpio");
    CHECK(s.kernel.binary == "bzImage");  // `binary: ""` is no value: the earlier one stays
    CHECK(s.kernel.tar == "none");        // `tar: ""`: no modules, as `none`

    // A Debian package kernel has none of those files: an image key merged onto it is an error...
    fs::write_file(tmp / "pkg.yml", "kernel:\n  package: linux-image-cloud-amd64\n", 0644);
    CHECK_THROWS_WITH(load_image_yamls({tmp / "pkg.yml", tmp / "arm64.yml"}),
                      Contains("arm64.yml:3:10: kernel.ucode: names a file in a kernel image, but the merged kernel "
                               "is kernel.package/path 'linux-image-cloud-amd64'"));
    // ...and a later package replaces the image with its keys.
    s = load_image_yamls({tmp / "x86.yml", tmp / "pkg.yml"});
    CHECK(s.kernel.image.empty());
    CHECK(s.kernel.ucode.empty());
    CHECK(s.kernel.binary == "kernel");
}

TEST_CASE("YAML syntax: a '#' line at column 0 inside a block scalar is named", "[builder][yaml]") {
    const std::string text =
        "kernel:\n  package: k\nfiles:\n  - path: etc/resolv.conf\n    contents: |\n"
        "#      domain example.org\n      nameserver 192.0.2.1\n";
    CHECK_THROWS_WITH(parse_image_yaml(text, "ip.yml", "."),
                      Contains("ip.yml:7:7: YAML syntax error") &&
                          Contains("line 6: a '#' at column 0 ends the block scalar opened at line 5"));
    // Indented, the line is text of the scalar.
    std::string indented = text;
    indented.replace(indented.find("#      domain"), 1, "      #");
    CHECK(parse_image_yaml(indented, "ip.yml", ".").files.at(0).contents == "#      domain example.org\nnameserver 192.0.2.1\n");
    // A '#' line at column 0 between keys is an ordinary comment; an error after it gets no hint.
    CHECK_THROWS_WITH(parse_image_yaml("kernel:\n  package: k\nservices:\n# web\n  - name: [web\n", "c.yml", "."),
                      !Contains("block scalar"));
}

TEST_CASE("validate: every error of every file, in file order", "[builder][validate]") {
    test::TempDir tmp;
    fs::write_file(tmp / "a.yml",
                   "kernel:\n  package: k\n"
                   "services:\n  - name: x\n    image: i\n    net: bridge\n"
                   "  - name: y\n    image: i\n    hostname: h\n"
                   "  - name: z\n    image: i\n    uid: redis\n",  // names are not looked up without the image
                   0644);
    fs::write_file(tmp / "b.yml", "files:\n  - path: ../x\n  - path: ok\n    mode: \"9\"\nonboot:\n  - name: o\n", 0644);
    ValidateOptions o;
    o.files = {tmp / "a.yml", tmp / "b.yml"};
    std::vector<YamlError> p = validate_image(o);
    REQUIRE(p.size() == 5);
    CHECK_THAT(p[0].what(), Contains("a.yml:6:10: services[0].net"));
    CHECK_THAT(p[1].what(), Contains("a.yml:7:5: services[1]: container 'y': 'hostname' needs its own UTS namespace"));
    CHECK_THAT(p[2].what(), Contains("b.yml:2:11: files[0].path"));
    CHECK_THAT(p[3].what(), Contains("b.yml:4:11: files[1].mode"));
    CHECK_THAT(p[4].what(), Contains("b.yml:6:5: onboot[0]: container 'o': missing required key 'image'"));
    o.files = {tmp / "a.yml"};
    fs::write_file(tmp / "a.yml", "kernel:\n  package: k\nservices:\n  - name: z\n    image: i\n    uid: redis\n", 0644);
    CHECK(validate_image(o).empty());
}

TEST_CASE("validate: every error of one entry, for containers, files, volumes and the kernel", "[builder][validate]") {
    test::TempDir tmp;
    fs::write_file(tmp / "e.yml",
                   "kernel:\n  package: k\n  binary: bzImage\n  cmdline: [a]\n  colour: red\n"        // 3-5
                   "files:\n  - path: ../x\n    mode: \"9\"\n    uid: \"a b\"\n"                   // 7-9
                   "  - path: ok\n    contents: x\n    symlink: y\n"                               // 10-12
                   "volumes:\n  - name: Bad\n    readonly: maybe\n    format: zip\n"              // 14-16
                   "services:\n  - name: .s\n    image: [i]\n    net: bridge\n    pid: nope\n", // 18-21
                   0644);
    ValidateOptions o;
    o.files = {tmp / "e.yml"};
    std::vector<YamlError> p = validate_image(o);
    std::vector<std::string> want = {
        "e.yml:3:11: kernel.binary: names a file in a kernel image",
        "e.yml:4:12: kernel.cmdline: expected a string",
        "e.yml:5:3: kernel: unknown key 'colour'",
        "e.yml:7:11: files[0].path",
        "e.yml:8:11: files[0].mode",
        "e.yml:9:10: files[0].uid",
        "e.yml:10:5: files[1]: 'ok': give only one of",
        "e.yml:14:11: volumes[0].name",
        "e.yml:15:15: volumes[0].readonly",
        "e.yml:16:13: volumes[0].format",
        "e.yml:18:11: services[0].name",
        "e.yml:19:12: services[0].image",
        "e.yml:20:10: services[0].net",
        "e.yml:21:10: services[0].pid",
    };
    std::string all;
    for (const auto& e : p) all += std::string(e.what()) + "\n";
    INFO(all);
    REQUIRE(p.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) CHECK_THAT(p[i].what(), Contains(want[i]));
}

TEST_CASE("linuxkit: a uid/gid name is first the id allocated to that container", "[builder][linuxkit]") {
    ImageSpec s = parse("onboot:\n  - name: init-db\n    image: i\n    command: [x]\n"
                        "services:\n  - name: redis\n    image: redis\n    command: [x]\n    uid: redis\n    gid: redis\n"
                        "  - name: other\n    image: i\n    command: [x]\n    uid: init-db\n    gid: root\n"
                        "files:\n  - path: etc/redis.conf\n    uid: redis\n    gid: redis\n"
                        "  - path: etc/root\n    uid: root\n    gid: 7\n");
    CHECK(s.files[0].uid == 101);  // onboot[0] is 100, services[0] 101
    CHECK(s.files[0].gid == 101);
    CHECK(s.files[1].uid == 0);
    CHECK(s.files[1].gid == 7);
    json redis = generate_oci_config(s.services[0]);
    CHECK(redis["process"]["user"]["uid"] == 101);
    CHECK(redis["process"]["user"]["gid"] == 101);
    json other = generate_oci_config(s.services[1]);
    CHECK(other["process"]["user"]["uid"] == 100);
    CHECK(other["process"]["user"]["gid"] == 0);
    // Not a container: looked up in the image's /etc/passwd (berth), at build time.
    ImageDefaults img;
    img.passwd = "daemon:x:1:1::/:/bin/sh\n";
    CHECK(generate_oci_config(service("    uid: daemon\n"), img)["process"]["user"]["uid"] == 1);
    CHECK_THROWS_WITH(parse("files:\n  - path: a\n    uid: nobody-here\n"),
                      Contains("lk.yml:4:5: files: 'a': uid/gid 'nobody-here' names no container of the image"));
}
