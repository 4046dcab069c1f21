#include <catch2/catch.hpp>
#include <cstdlib>

#include "builder/image_source.hpp"
#include "common/fs.hpp"
#include "test_util.hpp"

using namespace berth;
using namespace berth::builder;
using Catch::Matchers::Contains;

TEST_CASE("images: the tag a reference names, as written", "[builder][images]") {
    CHECK(image_tag("busybox:1.36") == "1.36");
    CHECK(image_tag("busybox") == "");
    CHECK(image_tag("localhost:5000/x") == "");
    CHECK(image_tag("linuxkit/getty:v1@sha256:abc") == "v1");
}

TEST_CASE("images: search path, relative paths and a missing image", "[builder][images]") {
    test::TempDir tmp;
    fs::mkdir_p(tmp / "one/busybox/bin");
    fs::mkdir_p(tmp / "two/alpine");
    fs::mkdir_p(tmp / "yaml/local/img");
    ::unsetenv("BERTH_IMAGES");
    std::string yaml = "kernel:\n  package: k\nservices:\n"
                       "  - name: web\n    image: busybox:latest\n"
                       "  - name: db\n    image: alpine\n"
                       "  - name: rel\n    image: ./local/img\n"
                       "  - name: gone\n    image: nothere\n";
    ImageSpec spec = parse_image_yaml(yaml, tmp / "yaml/web.yml", tmp / "yaml");
    ImageResolver r({tmp / "one", tmp / "two"}, tmp / "store");
    CHECK(r.resolve(spec, spec.services[0]).path == tmp / "one/busybox");
    CHECK(r.resolve(spec, spec.services[1]).path == tmp / "two/alpine");
    CHECK(r.resolve(spec, spec.services[2]).path == tmp / "yaml/local/img");
    CHECK_THROWS_WITH(r.resolve(spec, spec.services[3]),
                      Contains("web.yml:11:12: service 'gone': image 'nothere': not found as docker.io/library/nothere:latest") &&
                          Contains(tmp / "one"));

    ::setenv("BERTH_IMAGES", (tmp / "nowhere:" + tmp / "two").c_str(), 1);
    ImageResolver env = ImageResolver::from_command_line({tmp / "one"}, tmp / "store");
    CHECK(env.search_path() == std::vector<std::string>{tmp / "one", tmp / "nowhere", tmp / "two"});
    CHECK(env.resolve(spec, spec.services[1]).path == tmp / "two/alpine");
    ::unsetenv("BERTH_IMAGES");

    ImageResolver none({}, tmp / "store");
    CHECK_THROWS_WITH(none.resolve(spec, spec.services[0]), Contains("no image directories given: --images DIR or BERTH_IMAGES"));
}
