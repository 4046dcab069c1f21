// The uki output: the stub's PE headers read, the added sections placed after
// its end on page boundaries, the PE checksum, the fixed time stamp, the signing
// key checks, and a whole image made, signed, verified and reproduced.
#include <catch2/catch.hpp>

#include "builder/process.hpp"
#include "builder/uki.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "test_util.hpp"

using namespace berth::builder;
using namespace std::string_literals;

namespace {

const std::string kStub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";

// A self-signed RSA key and certificate (what a vendor's db key is).
SigningKey make_key(const berth::test::TempDir& dir, const std::string& name) {
    SigningKey k{dir / (name + ".key"), dir / (name + ".pem")};
    run_checked({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=berth test " + name,
                 "-days", "3650", "-keyout", k.key, "-out", k.cert});
    return k;
}

UkiParts small_parts(const berth::test::TempDir& dir) {
    UkiParts p;
    p.stub = kStub;
    p.kernel = dir / "kernel";
    p.initrd = dir / "initrd";
    std::string kernel, initrd;
    for (int i = 0; i < 3 * 4096 + 7; ++i) kernel += char(i * 31 % 253);
    for (int i = 0; i < 5000; ++i) initrd += char(i * 17 % 251);
    berth::fs::write_file(p.kernel, kernel, 0644);
    berth::fs::write_file(p.initrd, initrd, 0644);
    p.cmdline = "console=ttyS0 berth.verity.roothash=" + std::string(64, 'a');
    p.osrel = uki_os_release("test");
    p.uname = "6.1.0-test";
    return p;
}

const PeSection& find(const PeLayout& l, const std::string& name) {
    for (const auto& s : l.sections)
        if (s.name == name) return s;
    FAIL("no section " << name);
    throw;
}

}  // namespace

TEST_CASE("uki: the stub's headers are read, its checksum is the PE checksum") {
    REQUIRE(berth::fs::exists(kStub));  // systemd-boot-efi, a build dependency
    std::string stub = berth::fs::read_file(kStub);
    PeLayout l = read_pe_layout(stub, kStub);
    CHECK(l.section_alignment >= 512);
    CHECK((l.section_alignment & (l.section_alignment - 1)) == 0);
    CHECK(find(l, ".text").virtual_size > 0);
    CHECK(find(l, ".sdmagic").virtual_address > find(l, ".text").virtual_address);
    CHECK(pe_image_end(l) >= l.size_of_image);
    if (l.checksum != 0) CHECK(pe_checksum(stub, l.checksum_offset) == l.checksum);
}

TEST_CASE("uki: what is not a PE image is refused") {
    CHECK_THROWS_WITH(read_pe_layout("", "x"), Catch::Contains("no MZ header"));
    std::string mz(0x100, '\0');
    mz[0] = 'M';
    mz[1] = 'Z';
    mz[0x3c] = char(0x80);
    CHECK_THROWS_WITH(read_pe_layout(mz, "x"), Catch::Contains("no PE signature"));
    std::string stub = berth::fs::read_file(kStub);
    PeLayout l = read_pe_layout(stub, kStub);
    std::string bad = stub;
    bad[l.checksum_offset - 64 + 32] = 3;  // SectionAlignment 3
    bad[l.checksum_offset - 64 + 33] = 0;
    bad[l.checksum_offset - 64 + 34] = 0;
    bad[l.checksum_offset - 64 + 35] = 0;
    CHECK_THROWS_WITH(read_pe_layout(bad, "x"), Catch::Contains("not a power of two"));
    CHECK_THROWS_WITH(read_pe_layout(stub.substr(0, 0x100), "x"), Catch::Contains("truncated"));
}

TEST_CASE("uki: sections go after the stub's end, each on a page, none overlapping") {
    PeLayout stub;
    stub.section_alignment = 0x200;
    stub.size_of_image = 0x19300;
    stub.sections = {{".text", 0x4000, 0xbff0, 0xc000, 0x400}, {".sdmagic", 0x19100, 0x34, 0x200, 0x11200}};
    auto placed = place_sections(stub, {{".osrel", 63}, {".cmdline", 0}, {".initrd", 0x3000}, {".linux", 0x2001}});
    REQUIRE(placed.size() == 4);
    CHECK(placed[0].address == 0x1a000);  // SizeOfImage 0x19300, rounded up to a page
    CHECK(placed[1].address == 0x1b000);
    CHECK(placed[2].address == 0x1c000);  // an empty section still takes its page
    CHECK(placed[3].address == 0x1f000);
    // A stub with a larger alignment than a page keeps it.
    stub.section_alignment = 0x10000;
    auto big = place_sections(stub, {{".osrel", 1}, {".linux", 1}});
    CHECK(big[0].address == 0x20000);
    CHECK(big[1].address == 0x30000);
    // A section past SizeOfImage counts.
    stub.section_alignment = 0x200;
    stub.sections.push_back({".late", 0x40000, 0x10, 0x200, 0x12000});
    CHECK(place_sections(stub, {{".osrel", 1}})[0].address == 0x41000);
    CHECK_THROWS_WITH(place_sections(stub, {{".toolongname", 1}}), Catch::Contains("longer than 8"));
    CHECK_THROWS_WITH(place_sections(stub, {{".linux", 0xffffffffull}}), Catch::Contains("4 GiB"));
}

TEST_CASE("uki: the checksum counts its own field as zeros, at any offset") {
    std::string b = "0123456789abcdefghi";  // odd length: the last byte alone
    for (std::size_t off : {2u, 3u}) {
        std::string zeroed = b;
        for (std::size_t i = off; i < off + 4; ++i) zeroed[i] = '\0';
        CHECK(pe_checksum(b, off) == pe_checksum(zeroed, 1000));  // 1000: no field inside
    }
    CHECK(pe_checksum("", 1000) == 0);
    CHECK(pe_checksum(std::string("\x01\x02", 2), 1000) == 0x0201u + 2);
}

TEST_CASE("uki: the time stamp is set and the checksum follows") {
    std::string stub = berth::fs::read_file(kStub);
    set_pe_timestamp(stub, 1700000000);
    PeLayout l = read_pe_layout(stub, "x");
    CHECK(l.timestamp == 1700000000u);
    CHECK(l.checksum == pe_checksum(stub, l.checksum_offset));
    std::string other = stub;
    set_pe_timestamp(other, 1700000001);
    CHECK(read_pe_layout(other, "x").checksum != l.checksum);
}

TEST_CASE("uki: the os-release names the image, quoted") {
    CHECK(uki_os_release("redis") ==
          "NAME=\"berth\"\nID=berth\nPRETTY_NAME=\"berth image redis\"\nIMAGE_ID=\"redis\"\n");
    CHECK(uki_os_release("a\"b$c").find("IMAGE_ID=\"a\\\"b\\$c\"") != std::string::npos);
}

TEST_CASE("uki: a missing, unreadable, encrypted or non-PEM key or certificate is refused") {
    berth::test::TempDir dir;
    SigningKey k = make_key(dir, "db");
    CHECK_NOTHROW(check_signing_key(k));
    CHECK_THROWS_WITH(check_signing_key({dir / "none.key", k.cert}), Catch::Contains("--sign-key: cannot read"));
    CHECK_THROWS_WITH(check_signing_key({k.key, dir / "none.pem"}), Catch::Contains("--sign-cert: cannot read"));
    CHECK_THROWS_WITH(check_signing_key({k.key, ""}), Catch::Contains("both --sign-key and --sign-cert"));
    berth::fs::write_file(dir / "enc.key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n-----END ENCRYPTED PRIVATE KEY-----\n",
                          0600);
    CHECK_THROWS_WITH(check_signing_key({dir / "enc.key", k.cert}), Catch::Contains("is encrypted"));
    CHECK_THROWS_WITH(check_signing_key({k.cert, k.cert}), Catch::Contains("not a PEM private key"));
    CHECK_THROWS_WITH(check_signing_key({k.key, k.key}), Catch::Contains("not a PEM certificate"));
    berth::fs::write_file(dir / "unreadable.key", berth::fs::read_file(k.key), 0000);
    if (::geteuid() != 0)  // root reads it anyway
        CHECK_THROWS_WITH(check_signing_key({dir / "unreadable.key", k.cert}), Catch::Contains("cannot read"));
}

TEST_CASE("uki: the image holds each part at its place, the same inputs give the same bytes") {
    berth::test::TempDir dir;
    UkiParts p = small_parts(dir);
    std::uint64_t n = write_uki(p, dir / "a.efi", 1234567, std::nullopt);
    write_uki(p, dir / "b.efi", 1234567, std::nullopt);
    std::string a = berth::fs::read_file(dir / "a.efi");
    CHECK(a.size() == n);
    CHECK(a == berth::fs::read_file(dir / "b.efi"));
    PeLayout l = read_pe_layout(a, "a.efi");
    CHECK(l.timestamp == 1234567u);
    CHECK(l.checksum == pe_checksum(a, l.checksum_offset));
    PeLayout stub = read_pe_layout(berth::fs::read_file(kStub), kStub);
    std::uint64_t previous_end = pe_image_end(stub);
    for (const char* name : {".osrel", ".cmdline", ".uname", ".initrd", ".linux"}) {
        const PeSection& s = find(l, name);
        CHECK(s.virtual_address % 4096 == 0);
        CHECK(s.virtual_address >= previous_end);
        previous_end = s.virtual_address + s.virtual_size;
    }
    auto contents = [&](const std::string& name) {
        const PeSection& s = find(l, name);
        return a.substr(s.raw_offset, s.virtual_size);
    };
    CHECK(contents(".cmdline") == p.cmdline);
    CHECK(contents(".osrel") == p.osrel);
    CHECK(contents(".uname") == p.uname);
    CHECK(contents(".linux") == berth::fs::read_file(p.kernel));
    CHECK(contents(".initrd") == berth::fs::read_file(p.initrd));
    // No staging files are left next to it.
    CHECK_FALSE(berth::fs::exists(dir / "a.efi.d"));
    CHECK_FALSE(berth::fs::exists(dir / "a.efi.tmp"));
    // Another mtime, other bytes: the time stamp is the build's, not the clock's.
    write_uki(p, dir / "c.efi", 7654321, std::nullopt);
    CHECK(read_pe_layout(berth::fs::read_file(dir / "c.efi"), "c").timestamp == 7654321u);
}

TEST_CASE("uki: signed, the image verifies against its certificate and not against another") {
    berth::test::TempDir dir;
    UkiParts p = small_parts(dir);
    SigningKey k = make_key(dir, "db"), other = make_key(dir, "other");
    write_uki(p, dir / "s.efi", 1, k);
    CHECK(run_process({"sbverify", "--cert", k.cert, dir / "s.efi"}).exit_code == 0);
    CHECK(run_process({"sbverify", "--cert", other.cert, dir / "s.efi"}).exit_code != 0);
    // A key that does not belong to the certificate: the signature cannot verify,
    // and the build says so instead of writing an image the firmware will refuse.
    CHECK_THROWS_WITH(write_uki(p, dir / "m.efi", 1, SigningKey{other.key, k.cert}), Catch::Contains("uki: `sb"));
    CHECK_FALSE(berth::fs::exists(dir / "m.efi"));
    CHECK_FALSE(berth::fs::exists(dir / "m.efi.tmp"));
    CHECK_THROWS_WITH(write_uki(p, dir / "n.efi", 1, SigningKey{dir / "none.key", k.cert}),
                      Catch::Contains("--sign-key: cannot read"));
    CHECK_FALSE(berth::fs::exists(dir / "n.efi"));
}

TEST_CASE("uki: a missing stub names its package") {
    berth::test::TempDir dir;
    UkiParts p = small_parts(dir);
    p.stub = dir / "no.stub";
    CHECK_THROWS_WITH(write_uki(p, dir / "x.efi", 1, std::nullopt), Catch::Contains("apt-get install systemd-boot-efi"));
}

// `berth run qemu NAME.efi [--secure-boot]`: the board, firmware and boot path.
#include "builder/qemu_runner.hpp"

namespace {

bool has_pair(const std::vector<std::string>& v, const std::string& a, const std::string& b) {
    for (std::size_t i = 0; i + 1 < v.size(); ++i)
        if (v[i] == a && v[i + 1] == b) return true;
    return false;
}

}  // namespace

TEST_CASE("uki: berth run qemu NAME.efi boots it through UEFI; --secure-boot uses the SMM board and secboot OVMF") {
    QemuOptions o;
    set_boot_file(o, "out/web.efi");
    CHECK(o.uki == "out/web.efi");
    CHECK(o.prefix == "out/web");
    CHECK(o.uefi);
    o.arch = Arch::amd64;
    // From the ESP made for the run (run_qemu sets it): the firmware's own path.
    o.disk_image = "out/web-uki-esp.img";
    o.disk_image_format = "raw";
    auto plain = qemu_command(o, Accel::tcg, "");
    CHECK(has_pair(plain, "-machine", "q35"));
    CHECK(has_pair(plain, "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + std::string(kOvmfCode)));
    CHECK(has_pair(plain, "-drive", "if=pflash,format=raw,unit=1,file=out/web-efivars.fd"));
    CHECK(has_pair(plain, "-drive", "file=out/web-uki-esp.img,format=raw,if=virtio"));
    CHECK(std::find(plain.begin(), plain.end(), "-kernel") == plain.end());
    CHECK(std::find(plain.begin(), plain.end(), "driver=cfi.pflash01,property=secure,value=on") == plain.end());

    o.secure_boot = true;
    auto sb = qemu_command(o, Accel::tcg, "");
    CHECK(has_pair(sb, "-machine", "q35,smm=on"));
    CHECK(has_pair(sb, "-global", "driver=cfi.pflash01,property=secure,value=on"));
    CHECK(has_pair(sb, "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + std::string(kSecureBootCode)));
    // Its own variable store: a store without keys is never reused for it.
    CHECK(has_pair(sb, "-drive", "if=pflash,format=raw,unit=1,file=out/web-secboot-efivars.fd"));

    // --append: the firmware loads the UKI itself, the options its load options.
    o.append = "berth.injected=1";
    auto appended = qemu_command(o, Accel::tcg, "");
    CHECK(has_pair(appended, "-kernel", "out/web.efi"));
    CHECK(has_pair(appended, "-append", "berth.injected=1"));
    CHECK(std::find(appended.begin(), appended.end(), "file=out/web-uki-esp.img,format=raw,if=virtio") ==
          appended.end());
}

TEST_CASE("uki: the ESP made to boot a UKI holds it as the removable-media loader") {
    berth::test::TempDir dir;
    berth::fs::write_file(dir / "x.efi", std::string(100000, 'u'), 0644);
    write_uki_esp(dir / "x.efi", dir / "esp.img");
    ProcessResult r = run_process({"mtype", "-i", dir / "esp.img", "::/EFI/BOOT/BOOTX64.EFI"});
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == std::string(100000, 'u'));
    CHECK_FALSE(berth::fs::exists(dir / "esp.img.tmp"));
    CHECK_THROWS_WITH(write_uki_esp(dir / "none.efi", dir / "esp2.img"), Catch::Contains("none.efi"));
}
