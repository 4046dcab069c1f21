#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>

#include "../skip.hpp"
#include "builder/process.hpp"
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

TEST_CASE("qemu: the accelerator decision", "[builder][qemu][accel]") {
    const Arch host = Arch::amd64, foreign = Arch::arm64;
    // auto: KVM only with a working /dev/kvm and a cached verdict saying so; else probe or TCG.
    CHECK(decide_accel(AccelMode::automatic, host, host, true, std::nullopt) == AccelStep::probe);
    CHECK(decide_accel(AccelMode::automatic, host, host, true, Accel::kvm) == AccelStep::use_kvm);
    CHECK(decide_accel(AccelMode::automatic, host, host, true, Accel::tcg) == AccelStep::use_tcg);
    CHECK(decide_accel(AccelMode::automatic, host, host, false, std::nullopt) == AccelStep::use_tcg);
    CHECK(decide_accel(AccelMode::automatic, host, host, false, Accel::kvm) == AccelStep::use_tcg);
    CHECK(decide_accel(AccelMode::automatic, foreign, host, true, Accel::kvm) == AccelStep::use_tcg);
    // tcg always; kvm is the user's word, refused only when KVM cannot run at all.
    CHECK(decide_accel(AccelMode::tcg, host, host, true, Accel::kvm) == AccelStep::use_tcg);
    CHECK(decide_accel(AccelMode::kvm, host, host, true, Accel::tcg) == AccelStep::use_kvm);
    CHECK_THROWS_WITH(decide_accel(AccelMode::kvm, host, host, false, std::nullopt), Contains("/dev/kvm"));
    CHECK_THROWS_WITH(decide_accel(AccelMode::kvm, foreign, host, true, std::nullopt), Contains("use --accel tcg"));
}

TEST_CASE("qemu: the probe runs the real boot's machine and CPU model; the cache is keyed by them",
          "[builder][qemu][accel]") {
    test::TempDir tmp;
    // The same model in the probe and in the boot.
    CHECK(machine_model(Arch::amd64, Accel::kvm).machine == "q35");
    CHECK(machine_model(Arch::amd64, Accel::kvm).cpu == "host");
    CHECK(machine_model(Arch::arm64, Accel::tcg).cpu == "max,pauth-impdef=on");
    QemuOptions o;
    o.prefix = "out/web";
    auto kvm = qemu_command(o, Accel::kvm, "");
    CHECK(has_pair(kvm, "-machine", machine_model(host_arch(), Accel::kvm).machine));
    CHECK(has_pair(kvm, "-cpu", machine_model(host_arch(), Accel::kvm).cpu));

    ProbeSettings s;
    s.boot_id = "b1";
    s.qemu = "qemu-system-x86_64";
    s.arch = Arch::amd64;
    s.cpus = 1;
    const std::string key = probe_cache_key(s);
    CHECK(key == "boot=b1 qemu=qemu-system-x86_64 machine=q35 cpu=host smp=1");
    ProbeSettings two = s;
    two.cpus = 2;
    ProbeSettings other_boot = s;
    other_boot.boot_id = "b0";
    const std::string cache = tmp / "cache";
    CHECK_FALSE(cached_verdict(cache, key));
    cache_verdict(cache, probe_cache_key(other_boot), Accel::kvm);
    cache_verdict(cache, key, Accel::tcg);
    cache_verdict(cache, probe_cache_key(two), Accel::kvm);
    CHECK(cached_verdict(cache, key) == Accel::tcg);
    CHECK(cached_verdict(cache, probe_cache_key(two)) == Accel::kvm);
    CHECK_FALSE(cached_verdict(cache, probe_cache_key(other_boot)));  // an earlier host boot's line is gone
    cache_verdict(cache, key, Accel::kvm);  // replaced, not appended
    CHECK(cached_verdict(cache, key) == Accel::kvm);
    CHECK(fs::read_file(cache) == "boot=b1 qemu=qemu-system-x86_64 machine=q35 cpu=host smp=2 kvm\n"
                                  "boot=b1 qemu=qemu-system-x86_64 machine=q35 cpu=host smp=1 kvm\n");
}

TEST_CASE("qemu: the probe boots the build's kernel, else its own boot sector", "[builder][qemu][accel]") {
    test::TempDir tmp;
    fake_image(tmp);
    QemuOptions o;
    o.prefix = tmp / "img";
    o.arch = Arch::amd64;
    o.cpus = 2;
    CHECK(probe_settings(o).kernel == tmp / "img-kernel");
    CHECK(probe_settings(o).cpus == 2);
    o.iso = tmp / "img.iso";
    o.prefix = o.iso;
    CHECK(probe_settings(o).kernel == tmp / "img-kernel");  // written next to the ISO by the same build
    o.iso = tmp / "alone.iso";
    o.prefix = o.iso;
    CHECK(probe_settings(o).kernel.empty());

    std::string bs = probe_boot_sector();
    REQUIRE(bs.size() == 512);
    CHECK(bs.substr(510) == "\x55\xAA");
    CHECK(bs.find(kBootSectorMarker) == 0x1A);

    // Without a kernel, the probe boots the boot sector from a floppy under KVM with
    // the real boot's machine and CPU model, and looks for the boot sector's line.
    ProbeSettings s;
    s.arch = Arch::amd64;
    s.cpus = 2;
    s.timeout_ms = 5000;
    const std::string args = tmp / "args";
    s.qemu = fake_qemu(tmp, "sector",
                       "echo \"$@\" > " + args +
                           "\nfor a; do case $a in file=*,if=floppy) f=${a#file=}; f=${f%%,*};; esac; done\n"
                           "dd if=\"$f\" bs=1 skip=26 count=18 2>/dev/null; echo; sleep 30");
    CHECK(probe_kvm_boots(s));
    std::string argv = fs::read_file(args);
    CHECK_THAT(argv, Contains("-machine q35 -accel kvm -cpu host -smp 2"));
    CHECK_THAT(argv, Contains(",format=raw,if=floppy"));
    s.timeout_ms = 1500;
    s.qemu = fake_qemu(tmp, "linux-only", "echo 'Linux version 6.1'; sleep 30");
    CHECK_FALSE(probe_kvm_boots(s));  // the boot sector's marker, not a kernel's
    s.arch = Arch::arm64;             // nothing to probe an arm64 guest with but its kernel
    CHECK_FALSE(probe_kvm_boots(s));
}

TEST_CASE("qemu: an ISO boot takes the cached verdict like every other boot", "[builder][qemu][accel]") {
    // A cached `tcg` for this machine must win over a /dev/kvm that opens: nested KVM
    // that opens but aborts QEMU (`failed to set MSR`) is the reason for the probe.
    test::TempDir tmp;
    fs::write_file(tmp / "web.iso", "iso");
    const std::string args = tmp / "args";
    QemuOptions o;
    o.prefix = o.iso = tmp / "web.iso";
    o.qemu = fake_qemu(tmp, "record", "echo \"$@\" > " + args);
    o.probe_cache_file = tmp / "cache";
    ProbeSettings s = probe_settings(o);
    s.arch = Arch::amd64;
    cache_verdict(o.probe_cache_file, probe_cache_key(s), Accel::tcg);
    CHECK(run_qemu(o) == 0);
    CHECK_THAT(fs::read_file(args), Contains("-accel tcg"));
    CHECK_THAT(fs::read_file(args), Contains("file=" + o.iso + ",media=cdrom"));
    // The same for kernel+initrd.
    fake_image(tmp);
    QemuOptions k;
    k.prefix = tmp / "img";
    k.arch = Arch::amd64;
    k.qemu = o.qemu;
    k.probe_cache_file = o.probe_cache_file;
    cache_verdict(k.probe_cache_file, probe_cache_key(probe_settings(k)), Accel::tcg);
    CHECK(run_qemu(k) == 0);
    CHECK_THAT(fs::read_file(args), Contains("-accel tcg"));
}

TEST_CASE("qemu: QEMU dies with `berth run qemu`, even when it is SIGKILLed", "[builder][qemu]") {
    test::TempDir tmp;
    fake_image(tmp);
    const std::string pidfile = tmp / "qemu.pid";
    QemuOptions o;
    o.prefix = tmp / "img";
    o.accel = AccelMode::tcg;
    // Ignores SIGTERM and SIGINT: only the parent-death SIGKILL ends it.
    o.qemu = fake_qemu(tmp, "stubborn", "trap '' TERM INT HUP\necho $$ > " + pidfile + "\nwhile :; do sleep 1; done");
    pid_t runner = ::fork();
    REQUIRE(runner >= 0);
    if (runner == 0) {
        try {
            ::_exit(run_qemu(o));
        } catch (...) {
            ::_exit(99);
        }
    }
    auto waited_for = [](auto cond, int ms) {
        for (int i = 0; i < ms / 20 && !cond(); ++i) ::usleep(20000);
        return cond();
    };
    REQUIRE(waited_for([&] { return fs::exists(pidfile) && !fs::trim(fs::read_file(pidfile)).empty(); }, 20000));
    pid_t qemu = std::stoi(fs::trim(fs::read_file(pidfile)));
    ::kill(runner, SIGKILL);
    ::waitpid(runner, nullptr, 0);
    bool gone = waited_for([&] { return ::kill(qemu, 0) < 0; }, 10000);
    if (!gone) ::kill(qemu, SIGKILL);
    CHECK(gone);

    // SIGTERM is forwarded; a QEMU that ignores it is killed after a bounded wait.
    fs::write_file(pidfile, "");
    runner = ::fork();
    REQUIRE(runner >= 0);
    if (runner == 0) {
        try {
            ::_exit(run_qemu(o));
        } catch (...) {
            ::_exit(99);
        }
    }
    REQUIRE(waited_for([&] { return !fs::trim(fs::read_file(pidfile)).empty(); }, 20000));
    qemu = std::stoi(fs::trim(fs::read_file(pidfile)));
    auto t0 = std::chrono::steady_clock::now();
    ::kill(runner, SIGTERM);
    int status = 0;
    ::waitpid(runner, &status, 0);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 128 + SIGKILL);
    CHECK(waited_for([&] { return ::kill(qemu, 0) < 0; }, 5000));
}

TEST_CASE("qemu: --disk in berth's and LinuxKit's forms, --mem with units", "[builder][qemu]") {
    DiskOption a = parse_disk("data.img,size=256M");
    CHECK(a.path == "data.img");
    CHECK(a.size == (std::uint64_t(256) << 20));
    DiskOption lk = parse_disk("file=disk.img,size=2G,format=raw");
    CHECK(lk.path == "disk.img");
    CHECK(lk.size == (std::uint64_t(2) << 30));
    CHECK(parse_disk("size=1G").path.empty());  // named PREFIX-disk0.img by run_qemu
    CHECK(parse_disk("plain.img").size == (std::uint64_t(1) << 30));
    CHECK_THROWS_WITH(parse_disk("file=x.qcow2,format=qcow2"), Contains("only format=raw"));
    CHECK_THROWS_WITH(parse_disk("file=,size=1G"), Contains("file= needs a path"));
    CHECK_THROWS_WITH(parse_disk("x.img,cache=none"), Contains("unknown option `cache=none`"));
    CHECK_THROWS_WITH(parse_disk(",size=1G"), Contains("expected FILE"));

    CHECK(parse_memory_mb("512") == 512);
    CHECK(parse_memory_mb("1G") == 1024);
    CHECK(parse_memory_mb("2048M") == 2048);
    CHECK(parse_memory_mb("1GiB") == 1024);
    CHECK_THROWS_WITH(parse_memory_mb("1500K"), Contains("whole number of MiB"));
    CHECK_THROWS_WITH(parse_memory_mb("1X"), Contains("unknown unit"));
}

TEST_CASE("qemu: --data makes a cidata CD with config and user-data on a SCSI CD drive", "[builder][qemu][data]") {
    if (run_process({"xorriso", "-version"}).exit_code != 0) {
        BERTH_SKIP("xorriso missing");
    }
    test::TempDir tmp;
    fake_image(tmp);
    QemuOptions o;
    o.prefix = tmp / "img";
    o.accel = AccelMode::tcg;
    o.data = "{\"hello\": \"metadata\"}";
    // The fake QEMU prints its arguments; the CD stays next to the image.
    o.qemu = fake_qemu(tmp, "args", "echo \"$@\" > " + (tmp / "argv"));
    o.disks = {parse_disk("size=1M")};
    REQUIRE(run_qemu(o) == 0);
    std::string argv = fs::read_file(tmp / "argv");
    CHECK_THAT(argv, Contains("virtio-scsi-pci,id=data-scsi"));
    CHECK_THAT(argv, Contains("if=none,id=data-cd,file=" + (tmp / "img-data.iso") + ",format=raw,media=cdrom,readonly=on"));
    CHECK_THAT(argv, Contains("scsi-cd,bus=data-scsi.0,drive=data-cd"));
    // LinuxKit's unnamed disk: PREFIX-disk0.img, created.
    CHECK_THAT(argv, Contains("file=" + (tmp / "img-disk0.img") + ",format=raw,if=virtio"));
    CHECK(fs::exists(tmp / "img-disk0.img"));

    // The CD's label and files, read back with xorriso.
    ProcessResult ls = run_process({"xorriso", "-indev", tmp / "img-data.iso", "-pvd_info", "-find", "/", "-exec",
                                    "lsdl", "--"});
    CHECK_THAT(ls.out + ls.err, Contains("Volume Id    : cidata"));
    CHECK_THAT(ls.out + ls.err, Contains("/config") && Contains("/user-data") && Contains("/meta-data"));
    std::string config = tmp / "config.out";
    REQUIRE(run_process({"xorriso", "-osirrox", "on", "-indev", tmp / "img-data.iso", "-extract", "/config", config})
                .exit_code == 0);
    CHECK(fs::read_file(config) == "{\"hello\": \"metadata\"}");

    // --data-file: the file's bytes; both at once is an error.
    fs::write_file(tmp / "user.txt", "from a file\n");
    o.data.reset();
    o.data_file = tmp / "user.txt";
    REQUIRE(run_qemu(o) == 0);
    REQUIRE(run_process({"xorriso", "-osirrox", "on", "-indev", tmp / "img-data.iso", "-extract", "/user-data",
                         tmp / "ud.out"})
                .exit_code == 0);
    CHECK(fs::read_file(tmp / "ud.out") == "from a file\n");
    o.data = "x";
    CHECK_THROWS_WITH(run_qemu(o), Contains("only one of --data and --data-file"));
}
