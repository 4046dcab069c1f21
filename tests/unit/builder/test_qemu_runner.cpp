#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>

#include "builder/qemu_runner.hpp"
#include "common/fs.hpp"
#include "test_util.hpp"

using namespace berth;
using namespace berth::builder;
using Catch::Matchers::Contains;

namespace {

bool has_pair(const std::vector<std::string>& v, const std::string& a, const std::string& b) {
    for (std::size_t i = 0; i + 1 < v.size(); ++i)
        if (v[i] == a && v[i + 1] == b) return true;
    return false;
}

std::string fake_qemu(const test::TempDir& tmp, const std::string& name, const std::string& body) {
    std::string p = tmp / name;
    fs::write_file(p, "#!/bin/sh\n" + body + "\n", 0755);
    return p;
}

void fake_image(const test::TempDir& tmp) {
    fs::write_file(tmp / "img-kernel", "k");
    fs::write_file(tmp / "img-initrd.img", "i");
    fs::write_file(tmp / "img-cmdline", "console=ttyS0\n");
}

}  // namespace

TEST_CASE("qemu: --publish parsing", "[builder][qemu]") {
    PortForward f = parse_publish("8080:80");
    CHECK(f.protocol == "tcp");
    CHECK(f.host_port == 8080);
    CHECK(f.guest_port == 80);
    CHECK(parse_publish("5353:53/udp").protocol == "udp");
    CHECK_THROWS_WITH(parse_publish("80"), Contains("HOST:GUEST"));
    CHECK_THROWS_WITH(parse_publish("70000:80"), Contains("out of range"));
    CHECK_THROWS_WITH(parse_publish("1:2/sctp"), Contains("tcp or udp"));
}

TEST_CASE("qemu: the command line", "[builder][qemu]") {
    QemuOptions o;
    o.prefix = "out/web";
    o.mem_mb = 256;
    o.cpus = 2;
    o.publish = {parse_publish("8080:80"), parse_publish("5353:53/udp")};
    o.append = "loglevel=7";
    auto argv = qemu_command(o, Accel::tcg, "console=ttyS0 quiet");
    CHECK(argv[0] == "qemu-system-x86_64");
    CHECK(has_pair(argv, "-kernel", "out/web-kernel"));
    CHECK(has_pair(argv, "-initrd", "out/web-initrd.img"));
    CHECK(has_pair(argv, "-append", "console=ttyS0 quiet loglevel=7"));
    CHECK(has_pair(argv, "-m", "256"));
    CHECK(has_pair(argv, "-smp", "2"));
    CHECK(has_pair(argv, "-accel", "tcg"));
    CHECK(has_pair(argv, "-serial", "stdio"));
    CHECK(has_pair(argv, "-netdev",
                   "user,id=net0,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp:127.0.0.1:5353-:53"));
    CHECK(has_pair(argv, "-device", "virtio-net-pci,netdev=net0"));
    CHECK(has_pair(argv, "-device", "virtio-rng-pci"));
    CHECK(std::find(argv.begin(), argv.end(), "-no-reboot") != argv.end());
    CHECK(has_pair(qemu_command(o, Accel::kvm, ""), "-cpu", "host"));

    // kernel+squashfs: the small initrd, the image as the last (read-only) disk.
    o.disks = {DiskOption{"data.img", 1 << 20}};
    o.squashfs = "out/web-squashfs.img";
    auto sq = qemu_command(o, Accel::tcg, "");
    CHECK(has_pair(sq, "-initrd", "out/web-squashfs-initrd.img"));
    CHECK(has_pair(sq, "-drive", "file=data.img,format=raw,if=virtio"));
    CHECK(has_pair(sq, "-drive", "file=out/web-squashfs.img,format=raw,if=virtio,readonly=on"));
    auto data = std::find(sq.begin(), sq.end(), "file=data.img,format=raw,if=virtio");
    auto root = std::find(sq.begin(), sq.end(), "file=out/web-squashfs.img,format=raw,if=virtio,readonly=on");
    CHECK(data < root);
}

TEST_CASE("qemu: exit status, --timeout and missing files", "[builder][qemu]") {
    test::TempDir tmp;
    fake_image(tmp);
    QemuOptions o;
    o.prefix = tmp / "img";
    o.accel = AccelMode::tcg;
    o.qemu = fake_qemu(tmp, "exit3", "exit 3");
    CHECK(run_qemu(o) == 3);
    o.qemu = fake_qemu(tmp, "ok", "exit 0");
    CHECK(run_qemu(o) == 0);

    o.qemu = fake_qemu(tmp, "hang", "trap '' TERM\nwhile :; do sleep 1; done");
    o.timeout_s = 1;
    auto t0 = std::chrono::steady_clock::now();
    CHECK(run_qemu(o) == 124);  // SIGTERM ignored: SIGKILL follows
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(8));

    o.prefix = tmp / "nothing";
    CHECK_THROWS_WITH(run_qemu(o), Contains("nothing-kernel` does not exist"));
}

TEST_CASE("qemu: the KVM probe looks for serial output within its deadline", "[builder][qemu]") {
    test::TempDir tmp;
    ProbeSettings s;
    s.kernel = tmp / "k";
    s.timeout_ms = 1500;
    s.qemu = fake_qemu(tmp, "boots", "echo '[    0.000000] Linux version 6.1.0'; sleep 30");
    CHECK(probe_kvm_boots(s));
    s.qemu = fake_qemu(tmp, "silent", "trap '' TERM\nsleep 30");
    auto t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(probe_kvm_boots(s));
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
    s.qemu = fake_qemu(tmp, "fails", "echo 'Could not access KVM kernel module' >&2; exit 1");
    CHECK_FALSE(probe_kvm_boots(s));
    CHECK(choose_accel(AccelMode::tcg, s) == Accel::tcg);
    CHECK_THROWS_WITH(parse_accel_mode("hvf"), Contains("auto, kvm or tcg"));
}
