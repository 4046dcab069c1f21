// Image references: parsing, docker.io normalisation, store and search-path
// resolution by reference, digest pins, the path/reference split.
#include <catch2/catch.hpp>
#include <cstdlib>

#include "builder/image_pull.hpp"
#include "builder/image_source.hpp"
#include "builder/image_store.hpp"
#include "common/fs.hpp"
#include "config/image_reference.hpp"
#include "oci_fixture.hpp"
#include "test_util.hpp"

using namespace berth;
using namespace berth::builder;
using berth::config::is_image_path;
using berth::config::parse_image_reference;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

const std::string kD1 = "sha256:" + std::string(64, 'a');
const std::string kD2 = "sha256:" + std::string(64, 'b');

std::string norm(const std::string& s) { return parse_image_reference(s).str(); }

json one_file_image(test::LayoutBuilder& b, const std::string& arch, const std::string& content) {
    return b.image(json::object(),
                   {{test::make_layer({{test::LayerEntry::file, "which", content}}, "gzip"),
                     "application/vnd.oci.image.layer.v1.tar+gzip"}},
                   arch);
}

}  // namespace

TEST_CASE("image references: docker.io normalisation", "[builder][reference]") {
    CHECK(norm("redis") == "docker.io/library/redis:latest");
    CHECK(norm("redis:7") == "docker.io/library/redis:7");
    CHECK(norm("library/redis:7") == "docker.io/library/redis:7");
    CHECK(norm("docker.io/redis:7") == "docker.io/library/redis:7");
    CHECK(norm("docker.io/library/redis:7") == "docker.io/library/redis:7");
    CHECK(norm("index.docker.io/library/redis:7") == "docker.io/library/redis:7");
    CHECK(norm("linuxkit/getty:abc") == "docker.io/linuxkit/getty:abc");
    CHECK(norm("docker.io/linuxkit/getty:abc") == "docker.io/linuxkit/getty:abc");
    CHECK(norm("localhost:5000/x") == "localhost:5000/x:latest");
    CHECK(norm("localhost/x:1") == "localhost/x:1");
    CHECK(norm("127.0.0.1:35000/org/name:v1") == "127.0.0.1:35000/org/name:v1");
    CHECK(norm("ghcr.io/a/b/c:1.2.3") == "ghcr.io/a/b/c:1.2.3");
    CHECK(norm("[::1]:5000/x:y") == "[::1]:5000/x:y");
    CHECK(norm("my-registry.example.com/team/app") == "my-registry.example.com/team/app:latest");
    // A first component without '.', ':' or "localhost" is not a registry.
    CHECK(norm("myhost/x") == "docker.io/myhost/x:latest");
    CHECK(norm("a_b/c__d/e-f---g/h.i:Tag_1.x-2") == "docker.io/a_b/c__d/e-f---g/h.i:Tag_1.x-2");
}

TEST_CASE("image references: fields, digests and the familiar name", "[builder][reference]") {
    auto r = parse_image_reference("linuxkit/getty:v1@" + kD1);
    CHECK(r.registry == "docker.io");
    CHECK(r.repository == "linuxkit/getty");
    CHECK(r.tag == "v1");
    CHECK(r.digest == kD1);
    CHECK(r.str() == "docker.io/linuxkit/getty:v1@" + kD1);
    CHECK(r.remote() == "docker.io/linuxkit/getty@" + kD1);
    CHECK(r.familiar_name() == "linuxkit/getty");
    auto d = parse_image_reference("redis@" + kD2);
    CHECK(d.tag.empty());  // a digest alone does not mean :latest
    CHECK(d.str() == "docker.io/library/redis@" + kD2);
    CHECK(store_key(d) == "docker.io/library/redis@" + kD2);
    CHECK(store_key(parse_image_reference("redis:7@" + kD2)) == "docker.io/library/redis:7");
    CHECK(parse_image_reference("redis").familiar_name() == "redis");
    CHECK(parse_image_reference("library/a/b").familiar_name() == "library/a/b");
    CHECK(parse_image_reference("localhost:5000/x").familiar_name() == "localhost:5000/x");
    CHECK(parse_image_reference("redis:7").remote() == "docker.io/library/redis:7");
    CHECK(parse_image_reference("localhost:5000/x").loopback_registry());
    CHECK(parse_image_reference("127.0.0.1:5000/x").loopback_registry());
    CHECK(parse_image_reference("[::1]:5000/x").loopback_registry());
    CHECK_FALSE(parse_image_reference("x").loopback_registry());
    CHECK_FALSE(parse_image_reference("localhost.example.com/x").loopback_registry());
    CHECK(parse_image_reference("linuxkit/getty:v1") == parse_image_reference("docker.io/linuxkit/getty:v1"));
}

TEST_CASE("image references: invalid ones are refused with the reason", "[builder][reference]") {
    auto bad = [](const std::string& s, const std::string& why) {
        INFO(s);
        CHECK_THROWS_WITH(parse_image_reference(s), Contains(why));
    };
    bad("", "empty image reference");
    bad("Redis", "no upper case");
    bad("linuxkit/Getty:1", "no upper case");
    bad("redis:", "tag ``");
    bad("redis:-x", "tag `-x`");
    bad("redis:.x", "tag `.x`");
    bad("redis:" + std::string(129, 'a'), "1-128");
    bad("redis:a b", "tag `a b`");
    bad(":7", "has no name");
    bad("a//b", "empty name component");
    bad("a/", "empty name component");
    bad("-a", "name component `-a`");
    bad("a-", "name component `a-`");
    bad("a..b", "name component `a..b`");
    bad("a___b", "name component `a___b`");
    bad("a.-b", "name component `a.-b`");
    bad("redis@sha256:abc", "64 lower-case hex");
    bad("redis@sha256:" + std::string(64, 'A'), "64 lower-case hex");
    bad("redis@md5:" + std::string(32, 'a'), "digest algorithm `md5`");
    bad("redis@" + std::string(64, 'a'), "is not ALGORITHM:HEX");
    bad("host:port/x", "registry `host:port`");
    bad("host:/x", "registry `host:`");
    bad("ex_ample.com/x", "registry `ex_ample.com`");
    bad("-ex.com/x", "registry `-ex.com`");
    bad("[::1/x", "registry `[::1`");
    bad("host:123456/x", "registry `host:123456`");
    bad("./local", "is a path");
    bad("docker.io/" + std::string(250, 'a'), "longer than 255");
}

TEST_CASE("registries: loopback ones and those named are reached without TLS verification", "[builder][reference]") {
    RegistryOptions opts;
    CHECK(registry_is_insecure(parse_image_reference("localhost:5000/x"), opts));
    CHECK(registry_is_insecure(parse_image_reference("127.0.0.1:5000/x"), opts));
    CHECK_FALSE(registry_is_insecure(parse_image_reference("registry.lan:5000/x"), opts));
    CHECK_FALSE(registry_is_insecure(parse_image_reference("x"), opts));
    opts.insecure_registries = {"registry.lan:5000"};
    CHECK(registry_is_insecure(parse_image_reference("registry.lan:5000/x"), opts));
    CHECK_FALSE(registry_is_insecure(parse_image_reference("registry.lan/x"), opts));
}

TEST_CASE("image references: only ./ ../ and / make a path", "[builder][reference]") {
    CHECK(is_image_path("./img"));
    CHECK(is_image_path("../img"));
    CHECK(is_image_path("/abs/img"));
    CHECK(is_image_path("."));
    CHECK_FALSE(is_image_path("local/img"));
    CHECK_FALSE(is_image_path("img.tar"));
    CHECK_FALSE(is_image_path("linuxkit/getty:v1"));
}

TEST_CASE("store: an image imported as a short name is found by every spelling", "[builder][reference]") {
    test::TempDir tmp;
    test::LayoutBuilder b(tmp / "src");
    json m = one_file_image(b, "amd64", "getty");
    b.index({{m, "latest"}});
    ImageStore st(tmp / "store");
    StoreEntry e = st.import(tmp / "src", "linuxkit/getty:v1");
    CHECK(e.reference == "docker.io/linuxkit/getty:v1");
    CHECK(st.has("linuxkit/getty:v1"));
    CHECK(st.has("docker.io/linuxkit/getty:v1"));
    CHECK(st.has("index.docker.io/linuxkit/getty:v1"));
    CHECK_FALSE(st.has("linuxkit/getty:v2"));
    CHECK_FALSE(st.has("other/getty:v1"));
    CHECK(st.has("docker.io/linuxkit/getty@" + m["digest"].get<std::string>()));
    // Re-importing under another spelling replaces, not duplicates.
    st.import(tmp / "src", "docker.io/linuxkit/getty:v1");
    CHECK(st.list().size() == 1);
    // A pin on import is checked.
    CHECK_THROWS_WITH(st.import(tmp / "src", "x:1@" + kD1), Contains("pinned to " + kD1) &&
                                                                Contains(m["digest"].get<std::string>()));

    // A store written by an older berth names entries "redis:7": still found.
    json idx = json::parse(fs::read_file(tmp / "store/index.json"));
    idx["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] = "redis:7";
    fs::write_file(tmp / "store/index.json", idx.dump(), 0644);
    CHECK(st.has("docker.io/library/redis:7"));
    CHECK(st.remove("docker.io/library/redis:7"));
    CHECK_FALSE(st.has("redis:7"));
}

TEST_CASE("resolver: references in the store and the search path; digest pins", "[builder][reference]") {
    test::TempDir tmp;
    ::unsetenv("BERTH_IMAGES");
    test::LayoutBuilder b(tmp / "src");
    json m = one_file_image(b, "amd64", "store");
    b.index({{m, "latest"}});
    std::string digest = m["digest"];
    ImageStore(tmp / "store").import(tmp / "src", "linuxkit/getty:v1");
    // An --images directory holding linuxkit/getty as a layout, docker.io/library/db as a rootfs.
    test::LayoutBuilder d(tmp / "dir/linuxkit/sshd");
    json sshd = one_file_image(d, "amd64", "sshd");
    d.index({{sshd, "v2"}});
    fs::mkdir_p(tmp / "dir/docker.io/library/db/bin");
    fs::mkdir_p(tmp / "yaml/local/img");
    std::string yaml = "kernel:\n  package: k\nservices:\n"
                       "  - name: a\n    image: linuxkit/getty:v1\n"
                       "  - name: b\n    image: docker.io/linuxkit/getty:v1\n"
                       "  - name: c\n    image: linuxkit/getty:v1@" + digest + "\n"
                       "  - name: d\n    image: linuxkit/getty:v1@" + kD1 + "\n"
                       "  - name: e\n    image: linuxkit/getty@" + digest + "\n"
                       "  - name: f\n    image: linuxkit/sshd:v2\n"
                       "  - name: g\n    image: linuxkit/sshd:v2@" + sshd["digest"].get<std::string>() + "\n"
                       "  - name: h\n    image: linuxkit/sshd:v2@" + kD2 + "\n"
                       "  - name: i\n    image: db\n"
                       "  - name: j\n    image: db@" + kD1 + "\n"
                       "  - name: k\n    image: ./local/img\n"
                       "  - name: l\n    image: local/img\n";
    ImageSpec spec = parse_image_yaml(yaml, tmp / "yaml/t.yml", tmp / "yaml");
    ImageResolver r({tmp / "dir"}, tmp / "store");
    auto res = [&](int i) { return r.resolve(spec, spec.services[std::size_t(i)]); };
    for (int i : {0, 1, 2, 4}) {
        INFO(spec.services[std::size_t(i)].image);
        ResolvedImage got = res(i);
        CHECK(got.kind == ResolvedImage::Kind::oci);
        CHECK(got.path == tmp / "store");
        CHECK(got.oci.manifest.digest == digest);
    }
    CHECK_THROWS_WITH(res(3), Contains("service 'd'") && Contains("pinned to " + kD1) && Contains(digest));
    CHECK(res(5).path == tmp / "dir/linuxkit/sshd");
    CHECK(res(6).oci.manifest.digest == sshd["digest"]);
    CHECK_THROWS_WITH(res(7), Contains("pinned to " + kD2) && Contains(sshd["digest"].get<std::string>()));
    CHECK(res(8).path == tmp / "dir/docker.io/library/db");
    CHECK(res(8).kind == ResolvedImage::Kind::directory);
    CHECK_THROWS_WITH(res(9), Contains("plain directory, which has no digest"));
    CHECK(res(10).path == tmp / "yaml/local/img");
    // A bare relative name is a reference now; the error says how to write the path.
    CHECK_THROWS_WITH(res(11), Contains("image 'local/img': not found as docker.io/local/img:latest") &&
                                   Contains("the image store `" + tmp / "store" + "`") &&
                                   Contains("`" + tmp / "dir/local/img" + "`") &&
                                   Contains("`" + tmp / "dir/docker.io/local/img" + "`") &&
                                   Contains("berth image pull docker.io/local/img:latest") && Contains("write `./local/img`"));
    // Any image value (a kernel or init image) resolves the same way.
    CHECK(r.resolve("docker.io/linuxkit/getty:v1", tmp / "yaml", "k.yml:2:10: kernel image").oci.manifest.digest == digest);
    CHECK_THROWS_WITH(r.resolve("linuxkit/kernel:6.6", tmp / "yaml", "k.yml:2:10: kernel image"),
                      Contains("k.yml:2:10: kernel image: not found as docker.io/linuxkit/kernel:6.6"));
    // A malformed reference is refused where it is written, and by the resolver too.
    CHECK_THROWS_WITH(parse_image_yaml(yaml + "  - name: m\n    image: Bad/Name\n", tmp / "yaml/t.yml", tmp / "yaml"),
                      Contains("t.yml:29:12: services[12].image") && Contains("no upper case") &&
                          Contains("./, ../ or /"));
    CHECK_THROWS_WITH(r.resolve("Bad/Name", tmp / "yaml", "k.yml:2:10: kernel image"),
                      Contains("k.yml:2:10: kernel image") && Contains("no upper case") && Contains("./, ../ or /"));
}

TEST_CASE("store: pulls for two platforms of one registry digest share an index", "[builder][reference]") {
    test::TempDir tmp;
    test::LayoutBuilder amd(tmp / "amd"), arm(tmp / "arm");
    json ma = one_file_image(amd, "amd64", "amd64");
    amd.index({{ma, "pulled"}});
    json mr = one_file_image(arm, "arm64", "arm64");
    arm.index({{mr, "pulled"}});
    ImageStore st(tmp / "store");
    auto ref = parse_image_reference("localhost:5000/multi:1");
    Platform pa, pr;
    pr.architecture = "arm64";
    st.add_pulled(tmp / "amd", ref, kD1, pa);
    StoreEntry e = st.add_pulled(tmp / "arm", ref, kD1, pr);
    CHECK(e.source_digest == kD1);
    CHECK(st.list().size() == 1);
    CHECK(open_oci_image(st.dir(), e.reference, pa, "t").manifest.digest == ma["digest"]);
    CHECK(open_oci_image(st.dir(), e.reference, pr, "t").manifest.digest == mr["digest"]);
    // The pin is the registry's digest.
    verify_digest_pin(parse_image_reference("localhost:5000/multi:1@" + kD1), e, "t");
    CHECK_THROWS_WITH(verify_digest_pin(parse_image_reference("localhost:5000/multi:1@" + kD2), e, "t"),
                      Contains("pinned to " + kD2) && Contains("has digest " + kD1));
    CHECK(st.has("localhost:5000/multi@" + kD1));
    // Stored under name@digest only: a tagged reference with that pin finds it.
    st.add_pulled(tmp / "arm", parse_image_reference("localhost:5000/other@" + kD2), kD2, pr);
    CHECK(st.find(parse_image_reference("localhost:5000/other:v9@" + kD2)).has_value());
    CHECK_FALSE(st.find(parse_image_reference("localhost:5000/other:v9")).has_value());
    CHECK(st.remove("localhost:5000/other@" + kD2));
    // A new registry digest (the tag moved) replaces the old platforms.
    e = st.add_pulled(tmp / "amd", ref, kD2, pa);
    CHECK_THROWS_WITH(open_oci_image(st.dir(), e.reference, pr, "t"), Contains("no image for linux/arm64"));
    CHECK(st.remove("localhost:5000/multi:1"));
    CHECK(fs::list_dir(tmp / "store/blobs/sha256").empty());
}
