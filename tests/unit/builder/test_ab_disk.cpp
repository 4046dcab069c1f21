// The A/B disk's GPT and ESP size, the update bundle written and read back
// (same bytes twice, signature good, payloads where the manifest says), and
// the YAML's update: key.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "builder/ab_disk.hpp"
#include "builder/update_bundle.hpp"
#include "builder/yaml_model.hpp"
#include "common/fs.hpp"
#include "common/sha256.hpp"
#include "config/update_bundle.hpp"

using namespace berth::builder;
using Catch::Matchers::Contains;

namespace {

struct TempDir {
    std::string dir;
    TempDir() {
        char tmpl[] = "/tmp/berth-ab-XXXXXX";
        dir = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::system(("rm -rf " + dir).c_str()); }
};

const char* kBase =
    "kernel:\n  package: linux-image-cloud-amd64\nservices:\n  - name: redis\n    image: redis\n";

}  // namespace

TEST_CASE("ab disk: ESP, two slots of the same size, data; names PID 1 looks for", "[builder][ab]") {
    std::string s = ab_gpt_script("seed", 131072, 65536, 32768, "berth-data");
    CHECK_THAT(s, Contains("start=2048, size=131072, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B"));
    CHECK_THAT(s, Contains("start=133120, size=65536, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"));
    CHECK_THAT(s, Contains("name=\"berth-root-a\""));
    CHECK_THAT(s, Contains("start=198656, size=65536"));
    CHECK_THAT(s, Contains("name=\"berth-root-b\""));
    CHECK_THAT(s, Contains("start=264192, size=32768, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4"));
    CHECK_THAT(s, Contains("name=\"BERTH-ESP\""));
    // PID 1's log partition, 1 MiB, after the data partition.
    CHECK_THAT(s, Contains("start=296960, size=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4"));
    CHECK_THAT(s, Contains("name=\"berth-boot-log\""));
    CHECK(s == ab_gpt_script("seed", 131072, 65536, 32768, "berth-data"));
    CHECK(s != ab_gpt_script("other", 131072, 65536, 32768, "berth-data"));
    CHECK(ab_esp_bytes(8 << 20, 4 << 20) == 64u << 20);
    CHECK(ab_esp_bytes(30 << 20, 10 << 20) == 164u << 20);
}

TEST_CASE("ab disk: the update bundle is reproducible, signed and laid out as its manifest says", "[builder][ab]") {
    TempDir t;
    berth::fs::write_file(t.dir + "/k", std::string(5000, 'k'));
    berth::fs::write_file(t.dir + "/i", std::string(100, 'i'));
    berth::fs::write_file(t.dir + "/s", std::string(9000, 's'));
    std::string seed(32, '\x07');
    BundleInputs in{"os", "amd64", "2", "console=ttyS0", t.dir + "/k", t.dir + "/i", t.dir + "/s", seed, 1700000000};
    std::uint64_t n = write_update_bundle(t.dir + "/b1", in);
    write_update_bundle(t.dir + "/b2", in);
    std::string b = berth::fs::read_file(t.dir + "/b1");
    CHECK(b.size() == n);
    CHECK(n % 4096 == 0);
    CHECK(b == berth::fs::read_file(t.dir + "/b2"));
    std::uint64_t needed = 0;
    auto head = berth::update::split_bundle_head(b, needed);
    auto m = berth::update::parse_manifest(head.manifest_text);
    CHECK(m.name == "os");
    CHECK(m.version == "2");
    CHECK(berth::update::check_bundle(head, m, berth::update::ed25519_public_key(seed), "os", "amd64", n, 1 << 20) == "");
    CHECK(b.substr(m.kernel.offset, m.kernel.size) == std::string(5000, 'k'));
    CHECK(b.substr(m.initrd.offset, m.initrd.size) == std::string(100, 'i'));
    CHECK(b.substr(m.slot.offset, m.slot.size) == std::string(9000, 's'));
    CHECK(m.slot.sha256 == berth::digest::sha256_hex(std::string(9000, 's')));
    // Another version is another signature.
    in.version = "3";
    write_update_bundle(t.dir + "/b3", in);
    CHECK(berth::fs::read_file(t.dir + "/b3").substr(16, 64) != b.substr(16, 64));
}

TEST_CASE("yaml: update: slot size, version, commitWhenReady naming services, deadline, tries", "[builder][ab]") {
    ImageSpec img = parse_image_yaml(std::string(kBase) +
                                         "update:\n  slotSize: 256M\n  version: \"2\"\n  commitWhenReady: [redis]\n"
                                         "  deadline: 2m\n  tries: 3\n",
                                     "t.yml", "/b");
    REQUIRE(img.update);
    CHECK(img.update->slot_bytes == 256u << 20);
    CHECK(img.update->version == "2");
    CHECK(img.update->commit_when_ready == std::vector<std::string>{"redis"});
    CHECK(img.update->deadline_ms == 120000);
    CHECK(img.update->tries == 3);
    CHECK_THROWS_WITH(parse_image_yaml(std::string(kBase) + "update:\n  version: \"2\"\n", "t.yml", "/b"),
                      Contains("slotSize"));
    CHECK_THROWS_WITH(parse_image_yaml(std::string(kBase) + "update:\n  slotSize: 3M\n", "t.yml", "/b"),
                      Contains("at least 4M"));
    CHECK_THROWS_WITH(parse_image_yaml(std::string(kBase) + "update:\n  slotSize: 8M\n  tries: 0\n", "t.yml", "/b"),
                      Contains("1 to 9"));
    CHECK_THROWS_WITH(parse_image_yaml(std::string(kBase) + "update:\n  slotSize: 8M\n  deadline: 10h\n", "t.yml", "/b"),
                      Contains("between 1s and 1h"));
    CHECK_THROWS_WITH(parse_image_yaml(std::string(kBase) + "update:\n  slotSize: 8M\n  commitWhenReady: [rediss]\n",
                                       "t.yml", "/b"),
                      Contains("update.commitWhenReady: 'rediss' is not a service of this image"));
}
