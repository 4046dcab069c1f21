#include <catch2/catch.hpp>

#include "builder/yaml_model.hpp"
#include "../init/log_capture.hpp"

using namespace berth::builder;
using Catch::Matchers::Contains;

namespace {

ImageSpec parse(const std::string& text) { return parse_image_yaml(text, "test.yml", "/base"); }

const char* kMinimal = "kernel:\n  package: linux-image-cloud-amd64\n";

}  // namespace

TEST_CASE("yaml: a minimal file gets LinuxKit defaults", "[builder][yaml]") {
    ImageSpec s = parse(std::string(kMinimal) +
                        "services:\n"
                        "  - name: web\n"
                        "    image: busybox\n"
                        "    command: [httpd, -f]\n");
    CHECK(s.kernel.package == "linux-image-cloud-amd64");
    CHECK(s.kernel.cmdline.empty());  // kept as written; the build adds berth's console
    CHECK(s.outputs == std::vector<std::string>{"kernel+initrd"});
    REQUIRE(s.services.size() == 1);
    const ContainerSpec& c = s.services[0];
    CHECK(c.stage == Stage::services);
    CHECK(c.net == Namespace::host);
    CHECK(c.pid == Namespace::fresh);
    CHECK(c.ipc == Namespace::host);
    CHECK(c.uts == Namespace::host);
    CHECK_FALSE(c.readonly);  // LinuxKit: writable unless `readonly: true`
    CHECK_FALSE(c.uid.has_value());
    CHECK(c.capabilities.empty());
    REQUIRE(c.command);
    CHECK(*c.command == std::vector<std::string>{"httpd", "-f"});
    CHECK(c.pos.str() == "test.yml:4:5");
}

TEST_CASE("yaml: full container and files sections", "[builder][yaml]") {
    ImageSpec s = parse(std::string(kMinimal) +
                        "  cmdline: console=ttyS0 quiet\n"
                        "  modules: [virtio_net, \"virtio-rng  foo=1 bar=2\"]\n"
                        "init:\n  - linuxkit/init:v1.0\n"
                        "onboot:\n"
                        "  - name: dhcp\n"
                        "    image: ./images/busybox\n"
                        "    capabilities: [CAP_NET_ADMIN, net_raw]\n"
                        "    net: new\n"
                        "    pid: host\n"
                        "    uts: new\n"
                        "    hostname: box\n"
                        "    binds: [\"/etc/a:/a:ro,rshared\", /b:/c]\n"
                        "    env: [A=1, B=x=y]\n"
                        "    cwd: /tmp\n"
                        "    readonly: false\n"
                        "    uid: 1000\n"
                        "    gid: 100\n"
                        "files:\n"
                        "  - path: /etc//web/./index.html\n"
                        "    contents: hi\n"
                        "    mode: \"0644\"\n"
                        "  - path: etc/d\n"
                        "    directory: true\n"
                        "  - path: etc/l\n"
                        "    symlink: /x\n");
    CHECK(s.kernel.cmdline == "console=ttyS0 quiet");
    REQUIRE(s.kernel.modules.size() == 2);
    CHECK(s.kernel.modules[1].name == "virtio-rng");
    CHECK(s.kernel.modules[1].params == "foo=1 bar=2");
    REQUIRE(s.onboot.size() == 1);
    const ContainerSpec& c = s.onboot[0];
    CHECK(c.capabilities == std::vector<std::string>{"CAP_NET_ADMIN", "CAP_NET_RAW"});
    CHECK(c.net == Namespace::fresh);
    CHECK(c.pid == Namespace::host);
    CHECK(c.uts == Namespace::fresh);
    CHECK(c.hostname == "box");
    REQUIRE(c.binds.size() == 2);
    CHECK(c.binds[0].source == "/etc/a");
    CHECK(c.binds[0].destination == "/a");
    CHECK(c.binds[0].options == std::vector<std::string>{"ro", "rshared"});
    CHECK(c.binds[1].options.empty());
    CHECK(c.env == std::vector<std::string>{"A=1", "B=x=y"});
    CHECK(c.cwd == "/tmp");
    CHECK_FALSE(c.readonly);
    CHECK(c.uid == "1000");
    CHECK(c.gid == "100");
    CHECK_FALSE(c.command.has_value());
    REQUIRE(s.files.size() == 3);
    CHECK(s.files[0].path == "etc/web/index.html");
    CHECK(s.files[0].mode == 0644u);
    CHECK(s.files[1].directory);
    CHECK(s.files[2].symlink == "/x");
}

TEST_CASE("yaml: wrong types name the place and what was expected", "[builder][yaml]") {
    std::string base = std::string(kMinimal) + "services:\n  - name: web\n    image: busybox\n";
    CHECK_THROWS_WITH(parse(base + "    capabilities: CAP_NET_ADMIN\n"),
                      "test.yml:6:19: services[0].capabilities: expected a list of capability names, "
                      "got 'CAP_NET_ADMIN'");
    CHECK_THROWS_WITH(parse(base + "    readonly: maybe\n"),
                      Contains("test.yml:6:15") && Contains("expected true or false, got 'maybe'"));
    CHECK_THROWS_WITH(parse(base + "    net: bridge\n"), Contains("expected host, new, none or the absolute path of a namespace file, got 'bridge'"));
    CHECK_THROWS_WITH(parse(base + "    command: {a: b}\n"), Contains("expected a list of strings, got a map"));
    CHECK_THROWS_WITH(parse(base + "    uid: -1\n"), Contains("services[0].uid: expected a number"));
    CHECK_THROWS_WITH(parse(base + "    env: [NOEQUALS]\n"), Contains("expected KEY=VALUE"));
    CHECK_THROWS_WITH(parse(base + "    binds: [/only-one]\n"), Contains("source:destination"));
    CHECK_THROWS_WITH(parse(base + "    capabilities: [CAP_NET_ADMN]\n"),
                      Contains("unknown capability 'CAP_NET_ADMN'; did you mean 'CAP_NET_ADMIN'?"));
    CHECK_THROWS_WITH(parse("kernel: linux\n"), Contains("test.yml:1:9: kernel: expected a map, got 'linux'"));
    CHECK_THROWS_WITH(parse("- a\n- b\n"), Contains("expected a map, got a list"));
}

TEST_CASE("yaml: unknown keys suggest the closest valid key", "[builder][yaml]") {
    CHECK_THROWS_WITH(parse(std::string(kMinimal) + "services:\n  - name: web\n    imgae: busybox\n"),
                      "test.yml:5:5: services[0]: unknown key 'imgae'; did you mean 'image'?");
    CHECK_THROWS_WITH(parse(std::string(kMinimal) + "servics: []\n"),
                      Contains("unknown key 'servics'; did you mean 'services'?"));
    CHECK_THROWS_WITH(parse("kernel:\n  packge: x\n"), Contains("did you mean 'package'?"));
    // Nothing close: list the valid keys instead.
    CHECK_THROWS_WITH(parse(std::string(kMinimal) + "zzzzzzzzzz: 1\n"), Contains("expected one of: kernel volumes berth init"));
    CHECK_THROWS_WITH(parse(std::string(kMinimal) + "volumes:\n  - name: v\n    fromat: filesystem\n"),
                      Contains("unknown key 'fromat'; did you mean 'format'?"));
}

TEST_CASE("yaml: the deprecated trust key is ignored with a warning at the key", "[builder][yaml]") {
    testing::LogCapture log;
    ImageSpec s = parse(std::string(kMinimal) + "trust:\n  org:\n    - linuxkit\n");
    INFO(log.text());
    CHECK(log.has("test.yml:3:1: 'trust' ignored (deprecated in LinuxKit)"));
    CHECK(s.services.empty());
}

TEST_CASE("yaml: kernel.image with LinuxKit's binary, tar and ucode keys", "[builder][yaml]") {
    ImageSpec k = parse("kernel:\n  image: linuxkit/kernel:6.6\n");
    CHECK(k.kernel.image == "linuxkit/kernel:6.6");
    CHECK(k.kernel.package.empty());
    CHECK(k.kernel.image_pos.line == 2);
    // LinuxKit's defaults.
    CHECK(k.kernel.binary == "kernel");
    CHECK(k.kernel.tar == "kernel.tar");
    CHECK(k.kernel.ucode.empty());
    ImageSpec named = parse("kernel:\n  image: k\n  binary: bzImage\n  tar: none\n  ucode: /intel-ucode.cpio\n");
    CHECK(named.kernel.binary == "bzImage");
    CHECK(named.kernel.tar == "none");
    CHECK(named.kernel.ucode == "intel-ucode.cpio");
    CHECK_THROWS_WITH(parse("kernel:\n  image: k\n  binary: ../x\n"), Contains("a file name inside the kernel image"));
    CHECK_THROWS_WITH(parse("kernel:\n  package: p\n  tar: none\n"),
                      Contains("kernel.tar: names a file in a kernel image; it needs kernel.image"));
    CHECK_THROWS_WITH(parse("kernel:\n  image: k\n  package: p\n"),
                      Contains("only one of kernel.image, kernel.package and kernel.path"));
    CHECK_THROWS_WITH(parse("kernel:\n  cmdline: x\n"), Contains("missing required key 'image' (or 'package' or 'path')"));
    CHECK_THROWS_WITH(parse("kernel:\n  package: a\n  path: b\n"), Contains("only one of kernel.image, kernel.package and kernel.path"));
    CHECK(parse("kernel:\n  path: ./k\n").kernel.package == "./k");
    CHECK_THROWS_WITH(parse("onboot: []\n"), Contains("missing required key 'kernel'"));
}

TEST_CASE("yaml: init entries are kept in order with their lines", "[builder][yaml]") {
    ImageSpec s = parse("kernel:\n  image: k\ninit:\n  - linuxkit/init:v1\n  - linuxkit/ca-certificates:v1\n");
    REQUIRE(s.init.size() == 2);
    CHECK(s.init[0].reference == "linuxkit/init:v1");
    CHECK(s.init[1].reference == "linuxkit/ca-certificates:v1");
    CHECK(s.init[1].pos.line == 5);
    CHECK_THROWS_WITH(parse("kernel:\n  image: k\ninit: x\n"), Contains("a list of image references"));
}

TEST_CASE("yaml: duplicates are errors", "[builder][yaml]") {
    // LinuxKit allows a name in onboot and services (they never run side by side);
    // service names are unique.
    CHECK(parse(std::string(kMinimal) + "onboot:\n  - name: web\n    image: a\n"
                "services:\n  - name: web\n    image: b\n").services.size() == 1);
    CHECK_THROWS_WITH(parse(std::string(kMinimal) + "services:\n  - name: web\n    image: a\n"
                            "  - name: web\n    image: b\n"),
                      "test.yml:6:5: services[1]: duplicate service name 'web' (first defined at test.yml:4:5)");
    CHECK_THROWS_WITH(parse(std::string(kMinimal) + "services:\n  - name: a\n    name: b\n    image: c\n"),
                      Contains("duplicate key 'name'"));
    CHECK_THROWS_WITH(parse(std::string(kMinimal) + "files:\n  - path: /a\n  - path: a\n"),
                      Contains("duplicate file 'a'"));
}

TEST_CASE("yaml: required keys, names and paths are checked", "[builder][yaml]") {
    CHECK_THROWS_WITH(parse(std::string(kMinimal) + "services:\n  - image: b\n"),
                      Contains("missing required key 'name'"));
    CHECK_THROWS_WITH(parse(std::string(kMinimal) + "services:\n  - name: a\n"),
                      Contains("container 'a': missing required key 'image'"));
    CHECK_THROWS_WITH(parse(std::string(kMinimal) + "services:\n  - name: a/b\n    image: c\n"),
                      Contains("may only contain"));
    CHECK_THROWS_WITH(parse(std::string(kMinimal) + "files:\n  - path: ../etc\n"), Contains("must not contain '..'"));
    CHECK_THROWS_WITH(parse(std::string(kMinimal) + "files:\n  - path: a\n    contents: x\n    symlink: y\n"),
                      Contains("give only one of"));
    CHECK_THROWS_WITH(parse(std::string(kMinimal) + "files:\n  - path: a\n    mode: \"0999\"\n"),
                      Contains("octal file mode"));
    CHECK_THROWS_WITH(parse(std::string(kMinimal) + "outputs: [iso-bio]\n"),
                      Contains("unknown output 'iso-bio'; did you mean 'iso-bios'?"));
    CHECK(parse(std::string(kMinimal) + "outputs: [tar, iso-bios]\n").outputs ==
          std::vector<std::string>{"tar", "iso-bios"});
}

TEST_CASE("yaml: syntax errors carry a position", "[builder][yaml]") {
    CHECK_THROWS_WITH(parse("kernel:\n  package: [a\n"), Contains("test.yml:") && Contains("YAML syntax error"));
}

TEST_CASE("yaml: kernel.modules is auto, all, a class list or a module list", "[builder][yaml][modules]") {
    auto classes = [](const std::string& modules) {
        return shipped_module_classes(parse(std::string(kMinimal) + modules).kernel);
    };
    std::vector<std::string> every = {"virtio", "nic", "nvme", "ahci", "scsi", "usb-storage", "acpi-button"};
    CHECK(classes("") == every);  // no list: auto
    CHECK(classes("  modules: auto\n") == every);
    CHECK(classes("  modules: all\n") == std::vector<std::string>{"all"});
    CHECK(classes("  modules:\n    classes: [virtio, nvme]\n") == std::vector<std::string>{"virtio", "nvme"});
    CHECK(classes("  modules: [virtio_net]\n").empty());  // an explicit list alone: only it
    ImageSpec s = parse(std::string(kMinimal) + "  modules: [virtio_net]\n");
    CHECK(s.kernel.modules_listed);
    CHECK_THROWS_WITH(parse(std::string(kMinimal) + "  modules: some\n"), Contains("`auto`, `all`"));
    CHECK_THROWS_WITH(parse(std::string(kMinimal) + "  modules:\n    classes: [wifi]\n"),
                      Contains("one of virtio, nic, nvme, ahci, scsi, usb-storage, acpi-button, all"));
    CHECK_THROWS_WITH(parse(std::string(kMinimal) + "  modules:\n    clases: [virtio]\n"), Contains("classes"));
}
