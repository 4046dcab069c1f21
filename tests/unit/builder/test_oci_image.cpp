#include <catch2/catch.hpp>

#include "builder/image_source.hpp"
#include "builder/image_store.hpp"
#include "builder/oci_image.hpp"
#include "common/fs.hpp"
#include "oci_fixture.hpp"
#include "test_util.hpp"

using namespace berth;
using namespace berth::builder;
using berth::test::LayerEntry;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

const char* kTarGz = "application/vnd.oci.image.layer.v1.tar+gzip";
const char* kTarZst = "application/vnd.oci.image.layer.v1.tar+zstd";
const char* kTar = "application/vnd.oci.image.layer.v1.tar";

LayerEntry file(std::string p, std::string data, unsigned mode = 0644, unsigned uid = 0, unsigned gid = 0) {
    LayerEntry e;
    e.path = std::move(p);
    e.data = std::move(data);
    e.mode = mode;
    e.uid = uid;
    e.gid = gid;
    return e;
}
LayerEntry dir(std::string p, unsigned mode = 0755) {
    LayerEntry e;
    e.type = LayerEntry::dir;
    e.path = std::move(p);
    e.mode = mode;
    return e;
}
LayerEntry link(LayerEntry::Type t, std::string p, std::string target) {
    LayerEntry e;
    e.type = t;
    e.path = std::move(p);
    e.data = std::move(target);
    e.mode = 0777;
    return e;
}

// Two layers: the second deletes, empties and links things of the first.
json two_layer_image(test::LayoutBuilder& b) {
    std::string l1 = test::make_layer(
        {dir("etc"), file("etc/passwd", "root:x:0:0::/:/bin/sh\nredis:x:100:101::/:/bin/false\n"),
         file("etc/group", "root:x:0:\nredis:x:101:\n"), file("etc/gone", "x"), dir("opq"), file("opq/old", "o"),
         dir("usr"), dir("usr/lib"), link(LayerEntry::symlink, "lib", "usr/lib"),
         file("usr/lib/libx.so", "ELF", 0755)},
        "gzip");
    LayerEntry ping = file("bin/ping", "PING", 04755, 0, 0);
    ping.xattrs["security.capability"] = std::string("\x01\x02", 2);
    std::string l2 = test::make_layer(
        {dir("bin"), ping, link(LayerEntry::hardlink, "bin/ping6", "bin/ping"), file("etc/.wh.gone", ""),
         file("opq/.wh..wh..opq", ""), file("opq/new", "n"), file("lib/liby.so", "Y", 0600, 100, 101),
         file("data/owned", "d", 0640, 100, 101)},
        "zstd");
    json config = {{"config",
                    {{"Entrypoint", {"/bin/ping"}},
                     {"Cmd", {"-c", "1"}},
                     {"Env", {"PATH=/bin", "A=1"}},
                     {"WorkingDir", "/data"},
                     {"User", "redis"}}}};
    return b.image(config, {{l1, kTarGz}, {l2, kTarZst}});
}

}  // namespace

TEST_CASE("oci: layers apply in order with whiteouts, opaque dirs, links, owners and xattrs", "[builder][oci-image]") {
    test::TempDir tmp;
    test::LayoutBuilder b(tmp / "layout");
    b.index({{two_layer_image(b), "v1"}});
    OciImage img = open_oci_image(tmp / "layout", "v1", Platform{}, "image `t`");
    REQUIRE(img.layers.size() == 2);
    Tree tree;
    unpack_oci_image(tree, "r", img, "image `t`");
    CHECK_FALSE(tree.contains("r/etc/gone"));
    CHECK_FALSE(tree.contains("r/etc/.wh.gone"));
    CHECK_FALSE(tree.contains("r/opq/old"));
    CHECK(tree.contains("r/opq/new"));
    CHECK_FALSE(tree.contains("r/opq/.wh..wh..opq"));
    // Through the symlink lib -> usr/lib.
    REQUIRE(tree.find("r/usr/lib/liby.so"));
    CHECK(tree.find("r/usr/lib/liby.so")->uid == 100);
    CHECK(tree.find("r/usr/lib/liby.so")->gid == 101);
    CHECK(tree.find("r/usr/lib/liby.so")->mode == 0600);
    CHECK(tree.find("r/lib")->kind == TreeEntry::Kind::symlink);
    const TreeEntry* p = tree.find("r/bin/ping");
    const TreeEntry* p6 = tree.find("r/bin/ping6");
    REQUIRE((p && p6));
    CHECK(p->mode == 04755);
    CHECK(p->data == "PING");
    CHECK(p->host_ino != 0);
    CHECK(p->host_ino == p6->host_ino);
    CHECK(p->host_dev == p6->host_dev);
    CHECK(p->xattrs.at("security.capability") == std::string("\x01\x02", 2));

    ImageDefaults d = image_defaults_for(ResolvedImage{ResolvedImage::Kind::oci, "t", tmp / "layout", img, "t"}, tree, "r");
    CHECK(d.entrypoint == std::vector<std::string>{"/bin/ping"});
    CHECK(d.cmd == std::vector<std::string>{"-c", "1"});
    CHECK(d.working_dir == "/data");
    CHECK(d.user == "redis");
    ContainerSpec c;
    c.name = "t";
    json spec = generate_oci_config(c, d);
    CHECK(spec["process"]["args"] == json{"/bin/ping", "-c", "1"});
    CHECK(spec["process"]["env"] == json{"PATH=/bin", "A=1"});
    CHECK(spec["process"]["cwd"] == "/data");
    CHECK(spec["process"]["user"] == json{{"uid", 100}, {"gid", 101}});
    c.command = std::vector<std::string>{"sh"};
    c.env = std::vector<std::string>{"B=2"};
    c.uid = "0";
    json over = generate_oci_config(c, d);
    CHECK(over["process"]["args"] == json{"sh"});
    CHECK(over["process"]["env"] == json{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "B=2"});
    CHECK(over["process"]["user"]["uid"] == 0);
    c.uid = "nobody";
    CHECK_THROWS_WITH(generate_oci_config(c, d), Contains("no entry for 'nobody' in the image's /etc/passwd"));
}

TEST_CASE("oci: a bad digest, a truncated layer and path traversal are errors naming the blob", "[builder][oci-image]") {
    test::TempDir tmp;
    test::LayoutBuilder b(tmp / "l");
    json m = two_layer_image(b);
    b.index({{m, "v1"}});
    OciImage img = open_oci_image(tmp / "l", "", Platform{}, "image `t`");
    std::string layer = img.layers[1].digest;
    std::string path = img.blob_path(layer);
    std::string good = fs::read_file(path);

    std::string bad = good;
    bad[bad.size() / 2] ^= 0x55;
    fs::write_file(path, bad, 0644);
    Tree t1;
    CHECK_THROWS_WITH(unpack_oci_image(t1, "r", img, "image `t`"),
                      Contains("image `t`: blob " + layer + " is corrupt: its content hashes to sha256:"));
    fs::write_file(path, good.substr(0, good.size() - 3), 0644);
    CHECK_THROWS_WITH(unpack_oci_image(t1, "r", img, "image `t`"), Contains("blob " + layer + " is " ));

    // A truncated layer whose descriptor matches (the image was built that way).
    test::LayoutBuilder b2(tmp / "t");
    std::string full = test::make_layer({file("big", std::string(100000, 'x'))}, "gzip");
    json trunc = b2.image(json::object(), {{full.substr(0, full.size() / 2), kTarGz}});
    b2.index({{trunc, ""}});
    Tree t2;
    OciImage ti = open_oci_image(tmp / "t", "", Platform{}, "image `tr`");
    CHECK_THROWS_WITH(unpack_oci_image(t2, "r", ti, "image `tr`"), Contains("image `tr`: layer sha256:") &&
                                                                      (Contains("truncated") || Contains("short read")));

    test::LayoutBuilder b3(tmp / "e");
    json esc = b3.image(json::object(), {{test::make_layer({file("a/../../etc/passwd", "x")}, ""), kTar}});
    b3.index({{esc, ""}});
    Tree t3;
    OciImage ei = open_oci_image(tmp / "e", "", Platform{}, "image `e`");
    CHECK_THROWS_WITH(unpack_oci_image(t3, "r", ei, "image `e`"), Contains("escapes the image root"));
    // A symlink pointing out of the root is followed inside the root only.
    test::LayoutBuilder b4(tmp / "s");
    json sl = b4.image(json::object(), {{test::make_layer({link(LayerEntry::symlink, "out", "/../../tmp"),
                                                           file("out/x", "x")}, ""), kTar}});
    b4.index({{sl, ""}});
    Tree t4;
    unpack_oci_image(t4, "r", open_oci_image(tmp / "s", "", Platform{}, "s"), "s");
    CHECK(t4.contains("r/tmp/x"));

    fs::write_file(tmp / "l/index.json", "{\"manifests\": [{\"digest\": \"sha256:12\", \"size\": 1}]}", 0644);
    CHECK_THROWS_WITH(open_oci_image(tmp / "l", "", Platform{}, "x"), Contains("is not sha256:<64 lowercase hex digits>"));
    CHECK_THROWS_WITH(open_oci_image(tmp / "nothing", "", Platform{}, "x"), Contains("is not an OCI image layout"));
}

TEST_CASE("oci: an image index picks the target platform", "[builder][oci-image]") {
    test::TempDir tmp;
    test::LayoutBuilder b(tmp / "l");
    json amd = b.image(json::object(), {{test::make_layer({file("arch", "amd64")}, "gzip"), kTarGz}}, "amd64");
    json arm = b.image(json::object(), {{test::make_layer({file("arch", "arm64")}, "gzip"), kTarGz}}, "arm64");
    json amd_e = amd, arm_e = arm;
    amd_e["platform"] = {{"os", "linux"}, {"architecture", "amd64"}};
    arm_e["platform"] = {{"os", "linux"}, {"architecture", "arm64"}, {"variant", "v8"}};
    json list = {{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.index.v1+json"},
                 {"manifests", {arm_e, amd_e}}};
    b.index({{b.blob(list.dump(), "application/vnd.oci.image.index.v1+json"), "multi"}});
    for (const char* arch : {"amd64", "arm64"}) {
        Platform p;
        p.architecture = arch;
        Tree t;
        unpack_oci_image(t, "r", open_oci_image(tmp / "l", "multi", p, "m"), "m");
        CHECK(t.find("r/arch")->data == arch);
    }
    Platform riscv;
    riscv.architecture = "riscv64";
    CHECK_THROWS_WITH(open_oci_image(tmp / "l", "multi", riscv, "m"),
                      Contains("no image for linux/riscv64 in its index (it has: linux/arm64/v8 linux/amd64)"));
    CHECK_THROWS_WITH(open_oci_image(tmp / "l", "other", Platform{}, "m"), Contains("no image tagged `other`"));
}

TEST_CASE("store: import, ls and rm with garbage collection; tarballs too", "[builder][store]") {
    test::TempDir tmp;
    test::LayoutBuilder b(tmp / "src");
    json m = two_layer_image(b);
    b.index({{m, "latest"}});
    ImageStore st(tmp / "store");
    StoreEntry e = st.import(tmp / "src", "redis:7");
    CHECK(e.reference == "docker.io/library/redis:7");
    CHECK(st.has("redis:7"));
    CHECK_FALSE(st.has("redis"));
    st.import(tmp / "src", "copy");
    auto list = st.list();
    REQUIRE(list.size() == 2);
    CHECK(list[0].reference == "docker.io/library/copy:latest");
    CHECK(list[1].reference == "docker.io/library/redis:7");
    CHECK(list[0].bytes == list[1].bytes);
    std::size_t blobs = fs::list_dir(tmp / "store/blobs/sha256").size();
    CHECK(blobs == 4);  // manifest, config, 2 layers: shared, not copied twice
    CHECK(st.remove("copy"));
    CHECK(fs::list_dir(tmp / "store/blobs/sha256").size() == 4);  // still used by redis:7
    CHECK(st.remove("redis:7"));
    CHECK(fs::list_dir(tmp / "store/blobs/sha256").empty());
    CHECK_FALSE(st.remove("redis:7"));
    CHECK_THROWS_WITH(st.import(tmp / "src", "bad name"), Contains("tag `name`") || Contains("image reference `bad name`"));

    // An OCI layout tarball (oci-archive) imports the same way.
    REQUIRE(std::system(("tar -C " + tmp / "src" + " -cf " + tmp / "img.tar" + " .").c_str()) == 0);
    st.import(tmp / "img.tar", "fromtar:1");
    CHECK(st.has("fromtar:1"));
    // The resolver finds store images by name before the search path.
    ImageSpec spec = parse_image_yaml("kernel:\n  package: k\nservices:\n  - name: s\n    image: fromtar:1\n", "t.yml", tmp.path());
    ImageResolver r({}, tmp / "store");
    ResolvedImage ri = r.resolve(spec, spec.services[0]);
    CHECK(ri.kind == ResolvedImage::Kind::oci);
    CHECK(ri.oci.layers.size() == 2);
}
