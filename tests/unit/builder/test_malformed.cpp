// Malformed input of every kind, each error naming the file, the place and the reason.
#include <catch2/catch.hpp>

#include "builder/bundle.hpp"
#include "builder/image_assembler.hpp"
#include "builder/oci_image.hpp"
#include "builder/yaml_model.hpp"
#include "common/fs.hpp"
#include "oci_fixture.hpp"
#include "test_util.hpp"

using namespace berth;
using namespace berth::builder;
using berth::test::LayerEntry;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

const char* kTar = "application/vnd.oci.image.layer.v1.tar";
const char* kHead = "kernel:\n  package: k\n";

ImageSpec parse(const std::string& text) { return parse_image_yaml(text, "m.yml", "/base"); }

LayerEntry entry(LayerEntry::Type t, std::string p, std::string data = "") {
    LayerEntry e;
    e.type = t;
    e.path = std::move(p);
    e.data = std::move(data);
    e.mode = t == LayerEntry::dir ? 0755 : t == LayerEntry::symlink ? 0777 : 0644;
    return e;
}

// An image of one uncompressed layer; returns its unpacked tree (or throws).
Tree unpack_one(const std::string& dir, const std::vector<LayerEntry>& layer) {
    test::LayoutBuilder b(dir);
    b.index({{b.image(json::object(), {{test::make_layer(layer, ""), kTar}}), ""}});
    Tree t;
    unpack_oci_image(t, "r", open_oci_image(dir, "", Platform{}, "image `m`"), "image `m`");
    return t;
}

}  // namespace

TEST_CASE("malformed yaml: syntax errors give file:line:column", "[builder][malformed]") {
    // An unclosed flow sequence: the parser stops at the end of the document.
    CHECK_THROWS_WITH(parse("kernel:\n  package: [a\n"), Contains("m.yml:3:1: ") && Contains("YAML syntax error"));
    // A tab where indentation is expected.
    CHECK_THROWS_WITH(parse("kernel:\n\tpackage: a\n"), Contains("m.yml:2:") && Contains("YAML syntax error"));
    CHECK_THROWS_WITH(parse(std::string(kHead) + "services:\n  - name: a\n   image: b\n"),
                      Contains("m.yml:5:") && Contains("YAML syntax error"));
}

TEST_CASE("malformed yaml: wrong types in every section", "[builder][malformed]") {
    CHECK_THROWS_WITH(parse(std::string(kHead) + "services: {a: b}\n"), Contains("m.yml:3:11: services: expected a list"));
    CHECK_THROWS_WITH(parse(std::string(kHead) + "files: [a]\n"), Contains("m.yml:3:9: files[0]: expected a map"));
    CHECK_THROWS_WITH(parse(std::string(kHead) + "files:\n  - path: a\n    uid: [1]\n"), Contains("m.yml:5:10: files[0].uid"));
    CHECK_THROWS_WITH(parse("kernel:\n  package: k\n  modules: virtio\n"), Contains("m.yml:3:12: kernel.modules"));
    CHECK_THROWS_WITH(parse(std::string(kHead) + "services:\n  - name: s\n    image: i\n    sysctl: [a]\n"),
                      Contains("m.yml:6:13: services[0].sysctl: expected a map of strings, got a list"));
    // berth's policy keys: checked by the parser PID 1 uses, at the YAML position.
    CHECK_THROWS_WITH(check_policy(parse(std::string(kHead) + "services:\n  - name: s\n    image: i\n    restart: [always]\n")
                                       .services[0]),
                      Contains("m.yml:6:14: services[0].restart: expected one of no, on-failure, always, got ['always']"));
}

TEST_CASE("malformed yaml: unknown keys name the closest valid one", "[builder][malformed]") {
    CHECK_THROWS_WITH(parse(std::string(kHead) + "services:\n  - name: s\n    image: i\n    capabilties: []\n"),
                      Contains("m.yml:6:5: services[0]: unknown key 'capabilties'; did you mean 'capabilities'?"));
    CHECK_THROWS_WITH(parse(std::string(kHead) + "services:\n  - name: s\n    image: i\n    runtime: {mkdirs: [/a]}\n"),
                      Contains("unknown key 'mkdirs'; did you mean 'mkdir'?"));
    CHECK_THROWS_WITH(parse(std::string(kHead) + "files:\n  - path: a\n    contnets: x\n"),
                      Contains("did you mean 'contents'?"));
}

TEST_CASE("malformed yaml: duplicate service names; repeats across sections are allowed", "[builder][malformed]") {
    CHECK_THROWS_WITH(parse(std::string(kHead) + "services:\n  - name: a\n    image: i\n  - name: a\n    image: j\n"),
                      Contains("m.yml:6:5: services[1]: duplicate service name 'a' (first defined at m.yml:4:5)"));
    CHECK_NOTHROW(parse(std::string(kHead) + "onshutdown:\n  - name: a\n    image: i\n"
                                             "onboot:\n  - name: a\n    image: j\n  - name: a\n    image: j\n"));
}

TEST_CASE("malformed input: missing files are named", "[builder][malformed]") {
    test::TempDir tmp;
    CHECK_THROWS_WITH(load_image_yaml(tmp / "absent.yml"), Contains("absent.yml"));
    fs::mkdir_p(tmp / "kernel/boot");
    fs::write_file(tmp / "kernel/boot/vmlinuz-6.1.0-t", "k");
    fs::mkdir_p(tmp / "images/bb/bin");
    fs::write_file(tmp / "images/bb/bin/sh", "sh", 0755);
    fs::write_file(tmp / "init", "init", 0755);
    fs::write_file(tmp / "m.yml", "kernel:\n  package: kernel\nfiles:\n  - path: etc/x\n    source: no-such-file\n");
    BuildOptions o;
    o.yaml_file = tmp / "m.yml";
    o.out_dir = tmp / "out";
    o.image_dirs = {tmp / "images"};
    o.init_binary = tmp / "init";
    o.kernel_cache_dir = tmp / "cache";
    CHECK_THROWS_WITH(build_image(o), Contains("m.yml:4:5: files: `etc/x`: source `" + (tmp / "no-such-file") +
                                               "` does not exist"));
    o.init_binary = tmp / "no-init";
    CHECK_THROWS_WITH(build_image(o), Contains("init binary `" + (tmp / "no-init") + "`"));
}

TEST_CASE("malformed layers: a missing blob and a bad manifest are named", "[builder][malformed]") {
    test::TempDir tmp;
    test::LayoutBuilder b(tmp / "l");
    json m = b.image(json::object(), {{test::make_layer({entry(LayerEntry::file, "a", "x")}, ""), kTar}});
    b.index({{m, ""}});
    OciImage img = open_oci_image(tmp / "l", "", Platform{}, "image `m`");
    std::string layer = img.layers.at(0).digest;
    REQUIRE(::unlink(img.blob_path(layer).c_str()) == 0);
    Tree t;
    CHECK_THROWS_WITH(unpack_oci_image(t, "r", img, "image `m`"), Contains(layer));

    // A manifest whose layers are not a list.
    fs::write_file(b.blob_path(m), R"({"schemaVersion": 2, "config": {}, "layers": 7})", 0644);
    CHECK_THROWS_WITH(open_oci_image(tmp / "l", "", Platform{}, "image `m`"), Contains(m["digest"].get<std::string>()));
}

TEST_CASE("malformed layers: paths that escape the root", "[builder][malformed]") {
    test::TempDir tmp;
    // Absolute names are relative to the image root (as Docker and LinuxKit read them).
    Tree abs = unpack_one(tmp / "abs", {entry(LayerEntry::dir, "/etc"), entry(LayerEntry::file, "/etc/x", "x")});
    CHECK(abs.contains("r/etc/x"));
    CHECK_FALSE(abs.contains("etc/x"));

    // ".." anywhere in a name is refused, naming the entry.
    CHECK_THROWS_WITH(unpack_one(tmp / "dots", {entry(LayerEntry::file, "a/../../x", "x")}),
                      Contains("image `m`") && Contains("`a/../../x` escapes the image root"));
    // A hard link whose target climbs out.
    CHECK_THROWS_WITH(unpack_one(tmp / "hl", {entry(LayerEntry::file, "a", "x"),
                                              entry(LayerEntry::hardlink, "b", "../../etc/shadow")}),
                      Contains("escapes the image root"));
    // A hard link to something that is not in the image.
    CHECK_THROWS_WITH(unpack_one(tmp / "hl2", {entry(LayerEntry::hardlink, "b", "etc/shadow")}),
                      Contains("not a regular file of the image"));

    // Symlinks that point out (absolute or relative) resolve inside the root when a
    // later entry is written through them.
    Tree rel = unpack_one(tmp / "rel", {entry(LayerEntry::symlink, "up", "../../../.."),
                                        entry(LayerEntry::symlink, "abs", "/../etc"),
                                        entry(LayerEntry::file, "up/evil", "e"), entry(LayerEntry::file, "abs/evil2", "e")});
    CHECK(rel.contains("r/evil"));
    CHECK(rel.contains("r/etc/evil2"));
    for (const auto& [p, e] : rel.entries()) CHECK(p.rfind("r", 0) == 0);
    // A whiteout naming ".." is refused, not applied to the parent.
    CHECK_THROWS(unpack_one(tmp / "wh", {entry(LayerEntry::dir, "d"), entry(LayerEntry::file, "d/x", "x"),
                                         entry(LayerEntry::file, "d/.wh...", "")}));
}
