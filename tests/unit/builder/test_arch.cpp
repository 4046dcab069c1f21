#include <catch2/catch.hpp>

#include <elf.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "builder/accel_probe.hpp"
#include "builder/arch.hpp"
#include "builder/qemu_runner.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "test_util.hpp"

using namespace berth;
using namespace berth::builder;
using Catch::Matchers::Contains;

namespace {

// A 64-byte ELF64 header for `machine`; enough for the architecture checks.
void write_elf(const std::string& path, std::uint16_t machine) {
    Elf64_Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_EXEC;
    eh.e_machine = machine;
    fs::write_file(path, std::string(reinterpret_cast<const char*>(&eh), sizeof eh), 0755);
}

void write_at(const std::string& path, std::size_t size, std::size_t off, const std::string& magic) {
    std::string img(size, '\0');
    img.replace(off, magic.size(), magic);
    fs::write_file(path, img);
}

bool has_pair(const std::vector<std::string>& v, const std::string& a, const std::string& b) {
    for (std::size_t i = 0; i + 1 < v.size(); ++i)
        if (v[i] == a && v[i + 1] == b) return true;
    return false;
}

Arch foreign() { return host_arch() == Arch::amd64 ? Arch::arm64 : Arch::amd64; }

}  // namespace

TEST_CASE("arch: names", "[builder][arch]") {
    CHECK(parse_arch("amd64") == Arch::amd64);
    CHECK(parse_arch("x86_64") == Arch::amd64);
    CHECK(parse_arch("arm64") == Arch::arm64);
    CHECK(parse_arch("aarch64") == Arch::arm64);
    CHECK_THROWS_WITH(parse_arch("riscv64"), Contains("`riscv64`") && Contains("amd64 or arm64"));
    CHECK(std::string(arch_name(Arch::arm64)) == "arm64");
}

TEST_CASE("arch: ELF machine of a file", "[builder][arch]") {
    test::TempDir tmp;
    write_elf(tmp / "a", EM_AARCH64);
    write_elf(tmp / "x", EM_X86_64);
    write_elf(tmp / "r", EM_RISCV);
    fs::write_file(tmp / "script", "#!/bin/sh\n");
    CHECK(elf_arch(tmp / "a") == std::optional<std::string>("arm64"));
    CHECK(elf_arch(tmp / "x") == std::optional<std::string>("amd64"));
    CHECK(elf_arch(tmp / "r") == std::optional<std::string>("ELF machine 243"));
    CHECK_FALSE(elf_arch(tmp / "script"));
    CHECK_FALSE(elf_arch(tmp / "missing"));
    CHECK_NOTHROW(check_elf_arch(tmp / "a", Arch::arm64, "init"));
    CHECK_NOTHROW(check_elf_arch(tmp / "script", Arch::arm64, "init"));
    CHECK_THROWS_WITH(check_elf_arch(tmp / "x", Arch::arm64, "init binary `x`"),
                      Contains("init binary `x` is built for amd64, not arm64"));
}

TEST_CASE("arch: a root file system's architecture, through its symlinks", "[builder][arch]") {
    test::TempDir tmp;
    std::string root = tmp / "busybox";
    fs::mkdir_p(root + "/bin");
    fs::mkdir_p(root + "/usr/bin");
    write_elf(root + "/bin/busybox", EM_AARCH64);
    // Absolute links point inside the image, not at the host's /bin/busybox.
    REQUIRE(::symlink("/bin/busybox", (root + "/bin/sh").c_str()) == 0);
    REQUIRE(::symlink("../../bin/busybox", (root + "/usr/bin/env").c_str()) == 0);
    CHECK(rootfs_arch(root) == std::optional<std::string>("arm64"));
    CHECK_NOTHROW(check_rootfs_arch(root, Arch::arm64, "image `busybox`"));
    CHECK_THROWS_WITH(check_rootfs_arch(root, Arch::amd64, "web.yml:3:5: web: image `busybox`"),
                      Contains("web.yml:3:5: web: image `busybox`") && Contains("arm64 programs, not amd64"));

    ::unlink((root + "/bin/sh").c_str());
    ::unlink((root + "/bin/busybox").c_str());
    CHECK(rootfs_arch(root) == std::nullopt);  // only a dangling link: nothing to tell
    write_elf(root + "/usr/bin/tool", EM_X86_64);
    CHECK(rootfs_arch(root) == std::optional<std::string>("amd64"));

    std::string loop = tmp / "loop";
    fs::mkdir_p(loop + "/bin");
    REQUIRE(::symlink("sh", (loop + "/bin/sh").c_str()) == 0);
    CHECK(rootfs_arch(loop) == std::nullopt);
}

TEST_CASE("arch: kernel images", "[builder][arch]") {
    test::TempDir tmp;
    write_at(tmp / "Image", 4096, 56, std::string("ARM\x64", 4));
    write_at(tmp / "bzImage", 4096, 0x202, "HdrS");
    write_at(tmp / "other", 4096, 0, "\x1f\x8b");
    CHECK(kernel_image_arch(tmp / "Image") == Arch::arm64);
    CHECK(kernel_image_arch(tmp / "bzImage") == Arch::amd64);
    CHECK(kernel_image_arch(tmp / "other") == std::nullopt);
    CHECK(kernel_image_arch(tmp / "missing") == std::nullopt);
}

TEST_CASE("arch: the kernel package and command line for a target", "[builder][arch]") {
    CHECK(kernel_package_for("linux-image-cloud-amd64", Arch::arm64) == "linux-image-cloud-arm64");
    CHECK(kernel_package_for("linux-image-cloud-arm64", Arch::amd64) == "linux-image-cloud-amd64");
    CHECK(kernel_package_for("linux-image-cloud-amd64", Arch::amd64) == "linux-image-cloud-amd64");
    CHECK(kernel_package_for("linux-image-6.1.0-57-amd64", Arch::arm64) == "linux-image-6.1.0-57-arm64");
    CHECK(kernel_package_for("kernels/my-amd64", Arch::arm64) == "kernels/my-amd64");
    CHECK(kernel_package_for("linux-amd64.deb", Arch::arm64) == "linux-amd64.deb");

    // Kept as written when it names a console the target has.
    CHECK(cmdline_for("console=ttyS0 quiet", Arch::amd64) == "console=ttyS0 quiet");
    CHECK(cmdline_for("console=ttyS0 console=ttyAMA0", Arch::arm64) == "console=ttyS0 console=ttyAMA0");
    CHECK(cmdline_for("console=hvc0", Arch::arm64) == "console=hvc0");
    CHECK(cmdline_for("console=ttyS0 console=tty0", Arch::amd64) == "console=ttyS0 console=tty0");
    CHECK(cmdline_for("console=ttyS1", Arch::amd64) == "console=ttyS1");
    // The last console named is not on the target: the kernel would give
    // /dev/console to the screen; berth's serial console goes last.
    CHECK(cmdline_for("console=tty0 console=ttyS0 console=ttyAMA0", Arch::amd64) ==
          "console=tty0 console=ttyS0 console=ttyAMA0 console=ttyS0");
    CHECK(cmdline_for("console=tty0 console=ttyS0 console=ttyAMA0 console=ttysclp0", Arch::arm64) ==
          "console=tty0 console=ttyS0 console=ttyAMA0 console=ttysclp0 console=ttyAMA0");
    // berth's console added when none is usable on the target.
    CHECK(cmdline_for("console=ttyS0 panic=-1 quiet", Arch::arm64) == "console=ttyS0 panic=-1 quiet console=ttyAMA0");
    CHECK(cmdline_for("console=ttyAMA0,115200 quiet", Arch::amd64) == "console=ttyAMA0,115200 quiet console=ttyS0");
    CHECK(cmdline_for("xconsole=ttyS0 quiet", Arch::amd64) == "xconsole=ttyS0 quiet console=ttyS0");
    CHECK(cmdline_for("", Arch::arm64) == "console=ttyAMA0");
    CHECK(cmdline_for("", Arch::amd64) == "console=ttyS0");
}

TEST_CASE("arch: the QEMU command line for arm64", "[builder][arch][qemu]") {
    QemuOptions o;
    o.prefix = "out/web";
    o.arch = Arch::arm64;
    o.publish = {parse_publish("8080:80")};
    o.firmware = "none";
    auto argv = qemu_command(o, Accel::tcg, "console=ttyAMA0");
    CHECK(argv[0] == "qemu-system-aarch64");
    CHECK(has_pair(argv, "-machine", "virt"));
    CHECK(has_pair(argv, "-cpu", "max,pauth-impdef=on"));
    CHECK(has_pair(argv, "-accel", "tcg"));
    CHECK(has_pair(argv, "-serial", "stdio"));
    CHECK(has_pair(argv, "-netdev", "user,id=net0,hostfwd=tcp:127.0.0.1:8080-:80"));
    CHECK(has_pair(argv, "-device", "virtio-net-pci,netdev=net0"));
    CHECK(std::find(argv.begin(), argv.end(), "-no-reboot") != argv.end());
    o.arch = Arch::amd64;
    CHECK(qemu_command(o, Accel::tcg, "")[0] == "qemu-system-x86_64");
    CHECK(has_pair(qemu_command(o, Accel::tcg, ""), "-machine", "q35"));
}

TEST_CASE("arch: arm64 boots through UEFI firmware unless told otherwise", "[builder][arch][qemu]") {
    test::TempDir tmp;
    QemuOptions o;
    o.prefix = "out/web";
    auto bios = [&] {
        auto argv = qemu_command(o, Accel::tcg, "");
        auto it = std::find(argv.begin(), argv.end(), "-bios");
        return it == argv.end() ? std::string() : *(it + 1);
    };
    o.arch = Arch::amd64;
    CHECK(bios().empty());
    o.arch = Arch::arm64;
    if (fs::exists(kArm64UefiFirmware))
        CHECK(bios() == kArm64UefiFirmware);
    else
        CHECK_THROWS_WITH(bios(), Contains("qemu-efi-aarch64") && Contains("--firmware none"));
    o.firmware = "none";
    CHECK(bios().empty());
    write_at(tmp / "fw.fd", 0, 0, "x");
    o.firmware = tmp / "fw.fd";
    CHECK(bios() == tmp / "fw.fd");
    o.arch = Arch::amd64;
    CHECK(bios() == tmp / "fw.fd");
    o.firmware = tmp / "missing.fd";
    CHECK_THROWS_WITH(bios(), Contains("--firmware") && Contains("missing.fd` does not exist"));
}

TEST_CASE("arch: the guest architecture comes from the kernel image", "[builder][arch][qemu]") {
    test::TempDir tmp;
    write_at(tmp / "img-kernel", 4096, 56, std::string("ARM\x64", 4));
    QemuOptions o;
    o.prefix = tmp / "img";
    CHECK(guest_arch(o) == Arch::arm64);
    o.arch = Arch::arm64;
    CHECK(guest_arch(o) == Arch::arm64);
    o.arch = Arch::amd64;
    CHECK_THROWS_WITH(guest_arch(o), Contains("img-kernel` is a kernel for arm64") &&
                                         Contains("berth build --arch amd64"));
    o.prefix = tmp / "none";
    o.arch.reset();
    CHECK(guest_arch(o) == host_arch());
}

TEST_CASE("arch: KVM is never chosen for another architecture", "[builder][arch][qemu]") {
    ProbeSettings s;
    s.arch = foreign();
    s.qemu = "/nonexistent/qemu";  // a probe would fail loudly; none must run
    CHECK(choose_accel(AccelMode::automatic, s) == Accel::tcg);
    CHECK(choose_accel(AccelMode::tcg, s) == Accel::tcg);
    CHECK_THROWS_WITH(choose_accel(AccelMode::kvm, s), Contains("KVM cannot run an") && Contains("--accel tcg"));
}
