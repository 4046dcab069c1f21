#include <catch2/catch.hpp>

#include <algorithm>

#include "builder/disk_image.hpp"
#include "builder/qemu_runner.hpp"
#include "builder/yaml_model.hpp"

using namespace berth::builder;
using Catch::Matchers::Contains;

namespace {

bool has(const std::vector<std::string>& argv, const std::string& a) {
    return std::find(argv.begin(), argv.end(), a) != argv.end();
}

std::string vhd_footer() {
    std::string f(512, '\0');
    f.replace(0, 8, "conectix");
    f[24] = '\x30';  // a wall-clock time and a random id, as qemu-img writes them
    f[70] = '\x55';
    return f;
}

std::uint32_t be32(const std::string& s, std::size_t at) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + std::size_t(i)]);
    return v;
}

}  // namespace

TEST_CASE("disk: every disk format is a build output with LinuxKit's file name", "[builder][disk]") {
    for (const auto& f : disk_formats()) CHECK(is_output_format(f));
    CHECK(disk_format_suffix("raw-efi") == "-efi.img");
    CHECK(disk_format_suffix("gcp") == ".img.tar.gz");
    CHECK(disk_format_suffix("vhd") == ".vhd");
    CHECK_FALSE(is_output_format("raw-bio"));
    CHECK_THROWS_WITH(disk_format_suffix("qcow3"), Contains("unknown disk format"));
}

TEST_CASE("disk: GUIDs come from the contents, as RFC 4122 version 4", "[builder][disk]") {
    std::string a = guid_from_seed("abc"), b = guid_from_seed("abd");
    CHECK(a == guid_from_seed("abc"));
    CHECK(a != b);
    REQUIRE(a.size() == 36);
    CHECK(a[8] == '-');
    CHECK(a[14] == '4');
    CHECK(std::string("89ab").find(a[19]) != std::string::npos);
}

TEST_CASE("disk: the GPT script has the ESP at 1 MiB and the data partition only when asked", "[builder][disk]") {
    std::string s = gpt_script("seed", 40960, 0, "berth-data");
    CHECK_THAT(s, Contains("label: gpt"));
    CHECK_THAT(s, Contains("label-id: " + guid_from_seed("seed/disk")));
    CHECK_THAT(s, Contains("start=2048, size=40960, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B"));
    CHECK_THAT(s, Contains("attrs=\"LegacyBIOSBootable\""));
    CHECK_THAT(s, !Contains("berth-data"));
    std::string d = gpt_script("seed", 40960, 2048, "mydata");
    CHECK_THAT(d, Contains("start=43008, size=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4"));
    CHECK_THAT(d, Contains("name=\"mydata\""));
}

TEST_CASE("disk: the VHD footer gets the build's time, a derived id and a valid checksum", "[builder][disk]") {
    std::string f = vhd_footer(), g = vhd_footer();
    g[70] = '\x77';  // another random id from qemu-img
    fix_vhd_footer(f, 946684800 + 100, "seed");
    fix_vhd_footer(g, 946684800 + 100, "seed");
    CHECK(f == g);
    CHECK(be32(f, 24) == 100);
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < 512; ++i)
        if (i < 64 || i >= 68) sum += static_cast<unsigned char>(f[i]);
    CHECK(be32(f, 64) == ~sum);
    std::string bad(512, '\0');
    CHECK_THROWS_WITH(fix_vhd_footer(bad, 0, "seed"), Contains("no VHD footer"));
}

TEST_CASE("disk: run qemu tells disk images and their firmware from the file name", "[builder][disk][qemu]") {
    QemuOptions o;
    set_boot_file(o, "out/web-efi.qcow2");
    CHECK(o.prefix == "out/web");
    CHECK(o.disk_image == "out/web-efi.qcow2");
    CHECK(o.disk_image_format == "qcow2");
    CHECK(o.uefi);
    QemuOptions v;
    set_boot_file(v, "out/web.vhd");
    CHECK(v.disk_image_format == "vpc");
    CHECK_FALSE(v.uefi);
    QemuOptions g;
    set_boot_file(g, "out/web.img.tar.gz");
    CHECK(g.disk_archive == "out/web.img.tar.gz");
    CHECK(g.disk_image == "out/web-disk.raw");
    QemuOptions i;
    set_boot_file(i, "out/web-efi.iso");
    CHECK(i.iso == "out/web-efi.iso");
    CHECK(i.uefi);
    QemuOptions k;
    set_boot_file(k, "out/web");
    CHECK(k.disk_image.empty());
    CHECK(k.iso.empty());
    QemuOptions s;
    set_boot_file(s, "out/web-squashfs.img");
    CHECK(s.squashfs == "out/web-squashfs.img");
    CHECK(s.disk_image.empty());
}

TEST_CASE("disk: a UEFI disk boot has OVMF's code read-only and its own variable store", "[builder][disk][qemu]") {
    QemuOptions o;
    o.arch = Arch::amd64;
    set_boot_file(o, "out/web-efi.img");
    auto argv = qemu_command(o, Accel::tcg, "");
    CHECK(has(argv, std::string("if=pflash,format=raw,unit=0,readonly=on,file=") + kOvmfCode));
    CHECK(has(argv, "if=pflash,format=raw,unit=1,file=out/web-efivars.fd"));
    CHECK(has(argv, "file=out/web-efi.img,format=raw,if=virtio"));
    CHECK_FALSE(has(argv, "-kernel"));
    QemuOptions b;
    b.arch = Arch::amd64;
    set_boot_file(b, "out/web-bios.img");
    auto bios = qemu_command(b, Accel::tcg, "");
    CHECK(std::none_of(bios.begin(), bios.end(),
                       [](const std::string& a) { return a.find("pflash") != std::string::npos; }));
    CHECK(has(bios, "file=out/web-bios.img,format=raw,if=virtio"));
}

TEST_CASE("yaml: berth.data_partition", "[builder][yaml][disk]") {
    const std::string k = "kernel:\n  package: linux-image-cloud-amd64\n";
    ImageSpec s = parse_image_yaml(k + "berth:\n  data_partition:\n    size: 64M\n    label: state\n", "t.yml", "/b");
    REQUIRE(s.data_partition);
    CHECK(s.data_partition->bytes == 64u << 20);
    CHECK(s.data_partition->label == "state");
    CHECK(parse_image_yaml(k + "berth:\n  data_partition: {size: 1G}\n", "t.yml", "/b").data_partition->label ==
          "berth-data");
    CHECK_FALSE(parse_image_yaml(k, "t.yml", "/b").data_partition);
    CHECK_THROWS_WITH(parse_image_yaml(k + "berth:\n  data_partition: {label: x}\n", "t.yml", "/b"),
                      Contains("needs a size"));
    CHECK_THROWS_WITH(parse_image_yaml(k + "berth:\n  data_partition: {size: 1G, label: \"a b\"}\n", "t.yml", "/b"),
                      Contains("GPT partition name"));
    CHECK_THROWS_WITH(parse_image_yaml(k + "outputs: [raw-bio]\n", "t.yml", "/b"), Contains("raw-bios"));
}
