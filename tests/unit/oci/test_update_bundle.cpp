// The update bundle's format: the manifest's one spelling, the Ed25519
// signature over it, the header, every refusal of check_bundle, the boot
// entry names and the `update` settings of image.json.
#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "config/image_config.hpp"
#include "config/update_bundle.hpp"

using namespace berth::update;

namespace {

const std::string kSeed = from_hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");

Manifest sample() {
    Manifest m;
    m.name = "redis-os";
    m.arch = "amd64";
    m.version = "2";
    m.uki_a = {4096, 100, std::string(64, 'a')};
    m.uki_b = {8192, 5000, std::string(64, 'b')};
    m.slot = {16384, 1 << 20, std::string(64, 'c')};
    return m;
}

}  // namespace

TEST_CASE("Ed25519 matches RFC 8032's first test vector") {
    CHECK(to_hex(ed25519_public_key(kSeed)) == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    CHECK(to_hex(ed25519_sign(kSeed, "")) ==
          "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
    std::string sig = ed25519_sign(kSeed, "manifest");
    CHECK(ed25519_verify(ed25519_public_key(kSeed), "manifest", sig));
    CHECK_FALSE(ed25519_verify(ed25519_public_key(kSeed), "manifesT", sig));
    sig[10] ^= 1;
    CHECK_FALSE(ed25519_verify(ed25519_public_key(kSeed), "manifest", sig));
}

TEST_CASE("the manifest reads back as written, in its one order") {
    Manifest m = sample();
    std::string text = serialise_manifest(m);
    CHECK(text == "format=2\nname=redis-os\narch=amd64\nversion=2\nuki-a.offset=4096\nuki-a.size=100\nuki-a.sha256=" +
                      std::string(64, 'a') + "\nuki-b.offset=8192\nuki-b.size=5000\nuki-b.sha256=" + std::string(64, 'b') +
                      "\nslot.offset=16384\nslot.size=1048576\nslot.sha256=" + std::string(64, 'c') + "\n");
    CHECK(parse_manifest(text) == m);
    CHECK(&m.uki('a') == &m.uki_a);
    CHECK(&m.uki('b') == &m.uki_b);
    // Keys swapped, a key missing, a bad digest, overlapping parts, another format.
    std::string swapped = text;
    swapped.replace(swapped.find("name=redis-os\narch=amd64"), 24, "arch=amd64\nname=redis-os");
    CHECK_THROWS_WITH(parse_manifest(swapped), Catch::Contains("expected `name`"));
    CHECK_THROWS_WITH(parse_manifest(text.substr(0, text.rfind("slot.sha256"))), Catch::Contains("keys"));
    Manifest bad = sample();
    bad.slot.sha256 = "xyz";
    CHECK_THROWS_WITH(parse_manifest(serialise_manifest(bad)), Catch::Contains("slot.sha256"));
    bad = sample();
    bad.uki_b.offset = 4096;
    CHECK_THROWS_WITH(parse_manifest(serialise_manifest(bad)), Catch::Contains("uki-b.offset"));
    // A format 1 bundle (kernel, initrd and command line) is named as such.
    std::string f1 = text;
    f1[7] = '1';
    CHECK_THROWS_WITH(parse_manifest(f1), Catch::Contains("format 1 (this berth reads format 2)"));
    CHECK_THROWS_WITH(parse_manifest("format=1\nname=x\narch=amd64\nversion=\ncmdline=quiet\n"),
                      Catch::Contains("format 1 (this berth reads format 2)"));
    CHECK_THROWS_WITH(parse_manifest(text.substr(0, text.size() - 1)), Catch::Contains("newline"));
}

TEST_CASE("the header splits back into manifest and signature; a short or foreign file says so") {
    std::string text = serialise_manifest(sample()), sig = ed25519_sign(kSeed, text);
    std::string file = bundle_header(text, sig) + text;
    std::uint64_t needed = 0;
    BundleHead h = split_bundle_head(file.substr(0, 20), needed);
    CHECK(h.manifest_text.empty());
    CHECK(needed == kHeaderBytes);
    h = split_bundle_head(file.substr(0, 100), needed);
    CHECK(h.manifest_text.empty());
    CHECK(needed == kHeaderBytes + text.size());
    h = split_bundle_head(file, needed);
    CHECK(h.manifest_text == text);
    CHECK(h.signature == sig);
    CHECK_THROWS_WITH(split_bundle_head("NOTABUNDLE" + file, needed), Catch::Contains("magic"));
}

TEST_CASE("check_bundle refuses a bad signature, another image or arch, a truncated file, a slot too big") {
    Manifest m = sample();
    std::string text = serialise_manifest(m);
    BundleHead h{text, ed25519_sign(kSeed, text)};
    std::string pub = ed25519_public_key(kSeed);
    std::uint64_t full = m.slot.offset + m.slot.size;
    CHECK(check_bundle(h, m, pub, "redis-os", "amd64", full, 2 << 20) == "");
    CHECK(check_bundle(h, m, ed25519_public_key(std::string(32, 'k')), "redis-os", "amd64", full, 2 << 20)
              .find("signature") != std::string::npos);
    BundleHead forged{text + " ", h.signature};
    CHECK(check_bundle(forged, m, pub, "redis-os", "amd64", full, 2 << 20).find("signature") != std::string::npos);
    CHECK(check_bundle(h, m, pub, "web-os", "amd64", full, 2 << 20).find("image `redis-os`") != std::string::npos);
    CHECK(check_bundle(h, m, pub, "redis-os", "arm64", full, 2 << 20).find("for amd64") != std::string::npos);
    CHECK(check_bundle(h, m, pub, "redis-os", "amd64", full - 1, 2 << 20).find("truncated") != std::string::npos);
    CHECK(check_bundle(h, m, pub, "redis-os", "amd64", full, 1 << 19).find("larger than the slot") != std::string::npos);
}

TEST_CASE("check_version refuses an older version, accepts the same or a newer one") {
    CHECK(check_version("2", "1") == "");
    CHECK(check_version("2", "2") == "");
    CHECK(check_version("1.10", "1.9") == "");
    CHECK(check_version("2-broken", "2") == "");
    CHECK(check_version("1", "2") == "version 1 is older than the running version 2");
    CHECK(check_version("1.9", "1.10").find("older") != std::string::npos);
    CHECK(check_version("", "2").find("has no version") != std::string::npos);
    CHECK(check_version("", "") == "");
    CHECK(check_version("0.1", "") == "");
}

TEST_CASE("boot entry names: berth-GEN-SLOT.efi with systemd-boot's counter") {
    BootEntryName e{3, 'b', 1, -1};
    CHECK(boot_entry_file(e) == "berth-3-b+1.efi");
    CHECK(parse_boot_entry_file("berth-3-b+1.efi") == e);
    CHECK(parse_boot_entry_file("berth-3-b+0-1.efi") == BootEntryName{3, 'b', 0, 1});
    CHECK(parse_boot_entry_file("berth-12-a.efi") == BootEntryName{12, 'a', -1, -1});
    CHECK(boot_entry_file({12, 'a', -1, -1}) == "berth-12-a.efi");
    // Type #1 names (the layout before unified images) are not berth's entries.
    for (const char* bad : {"berth-3-c.efi", "berth-x-a.efi", "berth-3-a+.efi", "berth-3-a+1-.efi", "debian.efi",
                            "berth-3-a.efi.tmp", "berth-3-ab.efi", "berth-3-a.conf", "berth-3-b+1.conf"})
        CHECK_FALSE(parse_boot_entry_file(bad));
}

TEST_CASE("image.json's update settings round-trip and are checked") {
    using namespace berth::config;
    ImageConfig c;
    UpdateConfig u;
    u.name = "redis-os";
    u.arch = "amd64";
    u.version = "1";
    u.public_key = std::string(64, 'a');
    u.slot_bytes = 64 << 20;
    u.tries = 3;
    u.commit_when_ready = {"redis"};
    u.deadline_ms = 120000;
    c.update = u;
    CHECK(parse_image_config(to_json(c), "t") == c);
    auto doc = to_json(c);
    doc["update"]["publicKey"] = "zz";
    doc["update"]["tries"] = 0;
    doc["update"]["deadline"] = "0s";
    try {
        parse_image_config(doc, "t");
        FAIL("accepted");
    } catch (const berth::oci::ConfigError& e) {
        CHECK(e.problems().size() == 3);
    }
    CHECK_THROWS(parse_image_config({{"update", {{"name", "x"}}}}, "t"));
}
