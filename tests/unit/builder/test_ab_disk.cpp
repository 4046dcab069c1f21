// The A/B disk's GPT and ESP size, the update bundle written and read back
// (same bytes twice, signature good, payloads where the manifest says), a
// whole A/B disk of a small tree (slot a's UKI as the ESP's only entry, one UKI
// per slot in the bundle, unsigned byte-identical, signed verifying), and the
// YAML's update: key.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "builder/ab_disk.hpp"
#include "builder/process.hpp"
#include "builder/uki.hpp"
#include "builder/update_bundle.hpp"
#include "builder/yaml_model.hpp"
#include "common/fs.hpp"
#include "common/sha256.hpp"
#include "config/update_bundle.hpp"
#include "test_util.hpp"
#include "../temp_dir.hpp"

using namespace berth::builder;
using Catch::Matchers::Contains;

namespace {

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
    CHECK(ab_esp_bytes(12 << 20) == 64u << 20);
    CHECK(ab_esp_bytes(40 << 20) == 164u << 20);
    CHECK(ab_esp_bytes((40 << 20) + 1) == 165u << 20);
}

TEST_CASE("ab disk: the update bundle is reproducible, signed and laid out as its manifest says", "[builder][ab]") {
    berth::test::TempDir t;
    berth::fs::write_file(t.path() + "/ua", std::string(5000, 'a'));
    berth::fs::write_file(t.path() + "/ub", std::string(100, 'b'));
    berth::fs::write_file(t.path() + "/s", std::string(9000, 's'));
    std::string seed(32, '\x07');
    BundleInputs in{"os", "amd64", "2", t.path() + "/ua", t.path() + "/ub", t.path() + "/s", seed, 1700000000};
    std::uint64_t n = write_update_bundle(t.path() + "/b1", in);
    write_update_bundle(t.path() + "/b2", in);
    std::string b = berth::fs::read_file(t.path() + "/b1");
    CHECK(b.size() == n);
    CHECK(n % 4096 == 0);
    CHECK(b == berth::fs::read_file(t.path() + "/b2"));
    std::uint64_t needed = 0;
    auto head = berth::update::split_bundle_head(b, needed);
    auto m = berth::update::parse_manifest(head.manifest_text);
    CHECK(m.name == "os");
    CHECK(m.version == "2");
    CHECK(berth::update::check_bundle(head, m, berth::update::ed25519_public_key(seed), "os", "amd64", n, 1 << 20) == "");
    CHECK(b.substr(m.uki_a.offset, m.uki_a.size) == std::string(5000, 'a'));
    CHECK(b.substr(m.uki_b.offset, m.uki_b.size) == std::string(100, 'b'));
    CHECK(m.uki_a.offset % 4096 == 0);
    CHECK(m.uki_b.offset >= m.uki_a.offset + 5000);
    CHECK(b.substr(m.slot.offset, m.slot.size) == std::string(9000, 's'));
    CHECK(m.slot.sha256 == berth::digest::sha256_hex(std::string(9000, 's')));
    // Another version is another signature.
    in.version = "3";
    write_update_bundle(t.path() + "/b3", in);
    CHECK(berth::fs::read_file(t.path() + "/b3").substr(16, 64) != b.substr(16, 64));
}

namespace {

std::string pe_section(const std::string& image, const std::string& name) {
    PeLayout l = read_pe_layout(image, "uki");
    for (const auto& s : l.sections)
        if (s.name == name) return image.substr(s.raw_offset, s.virtual_size);
    FAIL("no section " << name);
    return {};
}

// A file of the A/B disk's ESP (at 1 MiB), read with mtools.
berth::builder::ProcessResult esp(const std::string& disk, const std::vector<std::string>& argv) {
    ::setenv("MTOOLS_SKIP_CHECK", "1", 1);
    std::vector<std::string> a = argv;
    a.insert(a.begin() + 1, {"-i", disk + "@@1M"});
    return run_process(a);
}

struct SmallBuild {
    berth::test::TempDir dir;
    Tree root, boot;
    OutputOptions o;
    AbSettings ab{4 << 20, "os", "amd64", "2", std::string(32, '\x07')};
    SmallBuild() {
        root.add_bytes("etc/motd", "hello\n", 0644);
        boot.add_bytes("init", "#!/bin/sh\n", 0755);
        std::string kernel;
        for (int i = 0; i < 3 * 4096 + 7; ++i) kernel += char(i * 31 % 253);
        berth::fs::write_file(dir / "vmlinuz", kernel, 0644);
        o.kernel_image = dir / "vmlinuz";
        o.cmdline = "console=ttyS0";
        o.mtime = 1700000000;
        o.boot_tree = &boot;
        o.name = "os";
        o.kernel_version = "6.1.0-test";
    }
    std::vector<OutputFile> write(const std::string& sub) {
        berth::fs::mkdir_p(dir / sub);
        o.prefix = dir / (sub + "/os");
        return write_ab_disk(root, o, ab);
    }
};

}  // namespace

TEST_CASE("ab disk: slot a boots its UKI, the ESP's only entry; the bundle carries a UKI per slot", "[builder][ab]") {
    SmallBuild b;
    auto files = b.write("one");
    REQUIRE(files.size() == 2);
    std::string disk = files[0].path, bundle = berth::fs::read_file(files[1].path);
    // The ESP: systemd-boot, loader.conf, slot a's UKI under the committed name, nothing else.
    auto listing = esp(disk, {"mdir", "-b", "::/EFI/Linux"});
    REQUIRE(listing.exit_code == 0);
    CHECK(berth::fs::trim(listing.out) == "::/EFI/Linux/berth-1-a.efi");
    CHECK(esp(disk, {"mtype", "::/loader/loader.conf"}).out == "timeout 0\ndefault berth-*\neditor no\n");
    CHECK(esp(disk, {"mdir", "-b", "::/loader/entries"}).exit_code != 0);  // no type #1 entries
    CHECK(esp(disk, {"mtype", "::/EFI/BOOT/BOOTX64.EFI"}).out ==
          berth::fs::read_file(b.o.systemd_boot_efi));
    std::string entry = esp(disk, {"mtype", "::/EFI/Linux/berth-1-a.efi"}).out;

    std::uint64_t needed = 0;
    auto head = berth::update::split_bundle_head(bundle, needed);
    auto m = berth::update::parse_manifest(head.manifest_text);
    std::string uki_a = bundle.substr(m.uki_a.offset, m.uki_a.size), uki_b = bundle.substr(m.uki_b.offset, m.uki_b.size);
    CHECK(uki_a == entry);
    CHECK(m.uki('a').sha256 == berth::digest::sha256_hex(uki_a));
    // The same UKI but for the slot on its command line (and in its menu title).
    std::string cmd_a = pe_section(uki_a, ".cmdline"), cmd_b = pe_section(uki_b, ".cmdline");
    CHECK_THAT(cmd_a, Contains("console=ttyS0 berth.verity.roothash="));
    CHECK(cmd_a.size() > 13);
    CHECK(cmd_a.substr(cmd_a.size() - 13) == " berth.slot=a");
    CHECK(cmd_b == cmd_a.substr(0, cmd_a.size() - 1) + "b");
    CHECK_THAT(pe_section(uki_a, ".osrel"), Contains("PRETTY_NAME=\"berth os 2 (slot a)\""));
    CHECK_THAT(pe_section(uki_b, ".osrel"), Contains("PRETTY_NAME=\"berth os 2 (slot b)\""));
    CHECK_THAT(pe_section(uki_a, ".osrel"), !Contains("VERSION"));
    CHECK(pe_section(uki_a, ".linux") == berth::fs::read_file(b.o.kernel_image));
    CHECK(pe_section(uki_a, ".initrd") == pe_section(uki_b, ".initrd"));
    CHECK(pe_section(uki_a, ".uname") == "6.1.0-test");
    CHECK(bundle.compare(m.slot.offset, 4, "hsqs") == 0);  // the slot: a squashfs

    // Unsigned: built again, the same bytes.
    auto again = b.write("two");
    CHECK(berth::fs::read_file(again[0].path) == berth::fs::read_file(disk));
    CHECK(berth::fs::read_file(again[1].path) == bundle);
}

TEST_CASE("ab disk: signed, both UKIs and systemd-boot verify against the certificate", "[builder][ab]") {
    SmallBuild b;
    b.o.signing_key = b.dir / "db.key";
    b.o.signing_cert = b.dir / "db.pem";
    run_checked({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=berth ab test", "-days",
                 "3650", "-keyout", b.o.signing_key, "-out", b.o.signing_cert});
    auto files = b.write("signed");
    std::string disk = files[0].path, bundle = berth::fs::read_file(files[1].path);
    std::uint64_t needed = 0;
    auto m = berth::update::parse_manifest(berth::update::split_bundle_head(bundle, needed).manifest_text);
    auto verifies = [&](const std::string& name, const std::string& data) {
        berth::fs::write_file(b.dir / name, data, 0644);
        return run_process({"sbverify", "--cert", b.o.signing_cert, b.dir / name}).exit_code == 0;
    };
    CHECK(verifies("a.efi", bundle.substr(m.uki_a.offset, m.uki_a.size)));
    CHECK(verifies("b.efi", bundle.substr(m.uki_b.offset, m.uki_b.size)));
    CHECK(verifies("entry.efi", esp(disk, {"mtype", "::/EFI/Linux/berth-1-a.efi"}).out));
    CHECK(verifies("boot.efi", esp(disk, {"mtype", "::/EFI/BOOT/BOOTX64.EFI"}).out));
    // The control: the unsigned stub does not verify.
    CHECK_FALSE(verifies("stub.efi", berth::fs::read_file(b.o.uki_stub)));
    // A key that is not the certificate's: the build fails, naming the signing
    // tool, and leaves neither a disk nor a bundle behind.
    b.o.signing_key = b.dir / "other.key";
    run_checked({"openssl", "genpkey", "-algorithm", "RSA", "-out", b.o.signing_key});
    CHECK_THROWS_WITH(b.write("mismatch"), Contains("uki: `sb"));
    CHECK_FALSE(berth::fs::exists(b.dir / "mismatch/os-ab-efi.img"));
    CHECK_FALSE(berth::fs::exists(b.dir / "mismatch/os-update.bundle"));
    CHECK_FALSE(berth::fs::exists(b.dir / "mismatch/os-ab-efi.img.d"));
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
