#include "builder/qemu_runner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "builder/process.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "config/byte_size.hpp"

namespace berth::builder {

namespace {

unsigned parse_port(const std::string& s, const std::string& whole) {
    if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos)
        throw Error("--publish `" + whole + "`: `" + s + "` is not a port number", EINVAL);
    unsigned long v = std::stoul(s);
    if (v == 0 || v > 65535) throw Error("--publish `" + whole + "`: port " + s + " is out of range", EINVAL);
    return unsigned(v);
}

}  // namespace

std::uint64_t parse_size(const std::string& s) {
    std::uint64_t v = config::parse_byte_size(s);
    if (v == 0) throw Error("size `" + s + "` must not be zero", EINVAL);
    return v;
}

DiskOption parse_disk(const std::string& s) {
    DiskOption d;
    std::vector<std::string> parts;
    for (std::size_t i = 0;;) {
        std::size_t j = s.find(',', i);
        parts.push_back(s.substr(i, j == std::string::npos ? std::string::npos : j - i));
        if (j == std::string::npos) break;
        i = j + 1;
    }
    // LinuxKit's form starts with a key (file=, size=, format=); berth's with the path.
    bool keyed = parts[0].find('=') != std::string::npos;
    if (!keyed) {
        d.path = parts[0];
        if (d.path.empty()) throw Error("--disk `" + s + "`: expected FILE[,size=SIZE] or file=FILE,size=SIZE", EINVAL);
    }
    for (std::size_t i = keyed ? 0 : 1; i < parts.size(); ++i) {
        const std::string& opt = parts[i];
        if (opt.rfind("size=", 0) == 0) {
            d.size = with_context("--disk `" + s + "`", [&] { return parse_size(opt.substr(5)); });
        } else if (opt.rfind("file=", 0) == 0 && keyed) {
            d.path = opt.substr(5);
            if (d.path.empty()) throw Error("--disk `" + s + "`: file= needs a path", EINVAL);
        } else if (opt.rfind("format=", 0) == 0) {
            if (opt != "format=raw")
                throw Error("--disk `" + s + "`: only format=raw is supported (berth attaches raw disks)", EINVAL);
        } else {
            throw Error("--disk `" + s + "`: unknown option `" + opt + "` (file=, size=, format=raw)", EINVAL);
        }
    }
    return d;
}

unsigned parse_memory_mb(const std::string& s) {
    if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos) {
        if (s.size() > 9) throw Error("--mem `" + s + "`: too large", EINVAL);
        return unsigned(std::stoul(s));
    }
    std::uint64_t bytes;
    try {
        bytes = parse_size(s);
    } catch (const Error& e) {
        // "size `S`: why" as "--mem `S`: why"
        std::string why = e.what(), prefix = "size `" + s + "`";
        if (why.rfind(prefix, 0) == 0) why = why.substr(prefix.size() + (why.rfind(prefix + ": ", 0) == 0 ? 2 : 1));
        if (why.rfind("expected a number", 0) == 0) why = "expected a number of MiB, or a size with a unit (1G, 2048M)";
        throw Error("--mem `" + s + "`: " + why, EINVAL);
    }
    if (bytes % (1 << 20) != 0) throw Error("--mem `" + s + "`: not a whole number of MiB", EINVAL);
    if (bytes >> 20 > 0xffffffffu) throw Error("--mem `" + s + "`: too large", EINVAL);
    return unsigned(bytes >> 20);
}

void write_data_iso(const std::string& data, const std::string& iso_path, const std::string& instance_id) {
    std::string stage = iso_path + ".d-" + std::to_string(::getpid());
    run_process({"rm", "-rf", "--", stage});
    fs::mkdir_p(stage);
    try {
        fs::write_file(fs::join(stage, "config"), data, 0644);
        fs::write_file(fs::join(stage, "user-data"), data, 0644);
        fs::write_file(fs::join(stage, "meta-data"), "instance-id: " + instance_id + "\nlocal-hostname: " +
                                                         instance_id + "\n", 0644);
        std::string tmp = iso_path + ".tmp";
        ProcessResult r = run_process({"xorriso", "-as", "mkisofs", "-quiet", "-V", "cidata", "-J", "-r", "-o", tmp,
                                       stage});
        if (r.exit_code != 0)
            throw Error("xorriso (package xorriso) could not write the user data CD `" + iso_path + "`: " +
                            fs::trim(r.err),
                        EIO);
        if (::rename(tmp.c_str(), iso_path.c_str()) < 0) throw_errno("rename `" + tmp + "` to `" + iso_path + "`");
    } catch (...) {
        run_process({"rm", "-rf", "--", stage});
        throw;
    }
    run_process({"rm", "-rf", "--", stage});
}

PortForward parse_publish(const std::string& s) {
    PortForward f;
    std::string ports = s;
    if (auto slash = s.find('/'); slash != std::string::npos) {
        f.protocol = s.substr(slash + 1);
        ports = s.substr(0, slash);
        if (f.protocol != "tcp" && f.protocol != "udp")
            throw Error("--publish `" + s + "`: protocol must be tcp or udp", EINVAL);
    }
    auto colon = ports.find(':');
    if (colon == std::string::npos)
        throw Error("--publish `" + s + "`: expected HOST:GUEST[/tcp|udp]", EINVAL);
    f.host_port = parse_port(ports.substr(0, colon), s);
    f.guest_port = parse_port(ports.substr(colon + 1), s);
    return f;
}

std::string qemu_binary(Arch arch) {
    return arch == Arch::arm64 ? "qemu-system-aarch64" : "qemu-system-x86_64";
}

Arch guest_arch(const QemuOptions& o) {
    std::optional<Arch> k = kernel_image_arch(o.prefix + "-kernel");
    if (o.arch && k && *k != *o.arch)
        throw Error("--arch " + std::string(arch_name(*o.arch)) + ": `" + o.prefix + "-kernel` is a kernel for " +
                        arch_name(*k) + " (build the image with berth build --arch " + arch_name(*o.arch) + ")",
                    EINVAL);
    return o.arch ? *o.arch : k ? *k : host_arch();
}

const char* const kArm64UefiFirmware = "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd";
const char* const kOvmfCode = "/usr/share/OVMF/OVMF_CODE_4M.fd";
const char* const kOvmfVars = "/usr/share/OVMF/OVMF_VARS_4M.fd";
const char* const kSecureBootCode = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd";
const char* const kSnakeoilVars = "/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd";
const char* const kSnakeoilKey = "/usr/share/ovmf/PkKek-1-snakeoil.key";
const char* const kSnakeoilCert = "/usr/share/ovmf/PkKek-1-snakeoil.pem";

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() > tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The writable copy of OVMF's variable store next to the image; Secure Boot
// boots have their own, so that a store without keys is never reused for them.
std::string efivars_path(const QemuOptions& o) {
    return o.prefix + (o.secure_boot ? "-secboot-efivars.fd" : "-efivars.fd");
}

std::string ovmf_code(const QemuOptions& o) {
    if (!o.firmware.empty() && o.firmware != "none") return o.firmware;
    return o.secure_boot ? kSecureBootCode : kOvmfCode;
}

}  // namespace

void set_boot_file(QemuOptions& o, const std::string& p) {
    o.prefix = p;
    if (ends_with(p, ".iso")) {
        o.iso = p;
        o.uefi = o.uefi || ends_with(p, "-efi.iso");
        return;
    }
    if (ends_with(p, ".efi")) {
        o.uki = p;
        o.prefix = p.substr(0, p.size() - 4);
        o.uefi = true;
        return;
    }
    if (ends_with(p, "-squashfs.img")) {
        o.squashfs = p;
        o.prefix = p.substr(0, p.size() - std::string("-squashfs.img").size());
        return;
    }
    struct Kind {
        const char* suffix;
        const char* format;
        bool uefi;
    };
    // The disk formats' file names (builder/disk_image.cpp), longest first.
    for (const Kind& k : {Kind{".img.tar.gz", "raw", false}, Kind{"-efi.qcow2", "qcow2", true},
                          Kind{"-bios.img", "raw", false}, Kind{"-efi.img", "raw", true}, Kind{".qcow2", "qcow2", false},
                          Kind{".vhd", "vpc", false}, Kind{".raw", "raw", false}}) {
        if (!ends_with(p, k.suffix)) continue;
        o.prefix = p.substr(0, p.size() - std::string(k.suffix).size());
        o.disk_image_format = k.format;
        o.uefi = o.uefi || k.uefi;
        if (std::string(k.suffix) == ".img.tar.gz") {
            o.disk_archive = p;
            o.disk_image = o.prefix + "-disk.raw";
        } else {
            o.disk_image = p;
        }
        return;
    }
}

std::string firmware_path(const QemuOptions& o, Arch arch) {
    if (o.firmware == "none") return "";
    if (!o.firmware.empty()) {
        if (!fs::exists(o.firmware)) throw Error("--firmware: `" + o.firmware + "` does not exist", ENOENT);
        return o.firmware;
    }
    if (arch != Arch::arm64) return "";
    // Booted straight from a device tree, the virt board's power button is a GPIO
    // key that Debian's cloud kernel has no driver for; through UEFI the kernel
    // gets ACPI tables, and QEMU's `system_powerdown` reaches it as an ACPI power
    // button, as on amd64.
    if (!fs::exists(kArm64UefiFirmware))
        throw Error(std::string("arm64 guests boot through UEFI firmware: `") + kArm64UefiFirmware +
                        "` is missing (apt-get install qemu-efi-aarch64, or --firmware none to boot "
                        "without it and without a power button)",
                    ENOENT);
    return kArm64UefiFirmware;
}

std::vector<std::string> qemu_command(const QemuOptions& o, Accel accel, const std::string& cmdline) {
    Arch arch = o.arch.value_or(host_arch());
    std::string netdev = "user,id=net0";
    for (const auto& p : o.publish)
        netdev += ",hostfwd=" + p.protocol + ":127.0.0.1:" + std::to_string(p.host_port) + "-:" +
                  std::to_string(p.guest_port);
    std::string append = cmdline;
    if (!o.append.empty()) append += (append.empty() ? "" : " ") + o.append;
    MachineModel m = machine_model(arch, accel);
    // OVMF's Secure Boot build keeps its variables in SMM-protected flash: the
    // board needs SMM and the flash chips must answer only to SMM writes.
    if (o.secure_boot) m.machine += ",smm=on";
    std::vector<std::string> argv = {
        o.qemu.empty() ? qemu_binary(arch) : o.qemu, "-nodefaults", "-no-user-config",
        "-machine", m.machine, "-accel", accel_name(accel), "-cpu", m.cpu,
        "-smp", std::to_string(o.cpus), "-m", std::to_string(o.mem_mb),
    };
    if (o.secure_boot)
        for (const char* a : {"-global", "driver=cfi.pflash01,property=secure,value=on"}) argv.push_back(a);
    if (o.uefi) {
        // OVMF as two flash chips: the code read-only, the variables writable.
        for (const std::string& a : {std::string("-drive"), "if=pflash,format=raw,unit=0,readonly=on,file=" + ovmf_code(o),
                                     std::string("-drive"), "if=pflash,format=raw,unit=1,file=" + efivars_path(o)})
            argv.push_back(a);
    } else if (std::string bios = firmware_path(o, arch); !bios.empty()) {
        argv.push_back("-bios");
        argv.push_back(bios);
    }
    if (!o.uki.empty() && !o.append.empty()) {
        // The firmware loads the UKI itself (checking its signature under Secure
        // Boot) and gives it --append as its load options.
        for (const std::string& a : {std::string("-kernel"), o.uki, std::string("-append"), o.append})
            argv.push_back(a);
    } else if (!o.disk_image.empty()) {
        // The image's own boot loaders pass the command line built into it.
        argv.push_back("-drive");
        argv.push_back("file=" + o.disk_image + ",format=" + o.disk_image_format + ",if=virtio");
    } else if (o.iso.empty()) {
        std::string initrd = o.prefix + (o.squashfs.empty() ? "-initrd.img" : "-squashfs-initrd.img");
        for (const std::string& a : {std::string("-kernel"), o.prefix + "-kernel", std::string("-initrd"), initrd,
                                     std::string("-append"), append})
            argv.push_back(a);
    } else {
        // The CD's own boot loader passes the command line built into the image.
        for (const std::string& a : {std::string("-drive"), "file=" + o.iso + ",media=cdrom,readonly=on",
                                     std::string("-boot"), std::string("d")})
            argv.push_back(a);
    }
    for (const auto& d : o.disks) {
        argv.push_back("-drive");
        argv.push_back("file=" + d.path + ",format=raw,if=virtio");
    }
    // The user data CD on its own SCSI controller: /dev/sr0 on either architecture.
    if (!o.data_iso.empty())
        for (const std::string& a : {std::string("-device"), std::string("virtio-scsi-pci,id=data-scsi"),
                                     std::string("-drive"),
                                     "if=none,id=data-cd,file=" + o.data_iso + ",format=raw,media=cdrom,readonly=on",
                                     std::string("-device"), std::string("scsi-cd,bus=data-scsi.0,drive=data-cd")})
            argv.push_back(a);
    // After the persistent disks, so they keep their names; PID 1 finds the root by
    // its squashfs signature.
    if (!o.squashfs.empty()) {
        argv.push_back("-drive");
        argv.push_back("file=" + o.squashfs + ",format=raw,if=virtio,readonly=on");
    }
    for (const std::string& a : {
             std::string("-display"), std::string("none"), std::string("-monitor"),
             o.monitor.empty() ? std::string("none") : "unix:" + o.monitor + ",server=on,wait=off",
             std::string("-serial"), std::string("stdio"), std::string("-no-reboot"),
             std::string("-netdev"), netdev, std::string("-device"), std::string("virtio-net-pci,netdev=net0"),
             std::string("-device"), std::string("virtio-rng-pci")})
        argv.push_back(a);
    return argv;
}

ProbeSettings probe_settings(const QemuOptions& o) {
    ProbeSettings p;
    p.arch = o.arch.value_or(host_arch());
    p.qemu = o.qemu.empty() ? qemu_binary(p.arch) : o.qemu;
    p.cpus = o.cpus;
    p.cache_file = o.probe_cache_file;
    // The kernel of the build when there is one: PREFIX-kernel, or for FILE.iso the
    // FILE-kernel written next to it by a build with kernel+initrd too. Else the
    // probe boots its own boot sector.
    std::string kernel = o.prefix + "-kernel";
    if (!o.iso.empty()) {
        std::string stem = o.iso.size() > 4 ? o.iso.substr(0, o.iso.size() - 4) : o.iso;
        kernel = stem + "-kernel";
    }
    if (fs::exists(kernel)) p.kernel = kernel;
    return p;
}

namespace {

// A disk image to boot: it must exist; a gcp archive is unpacked first (its
// disk.raw, fresh on every run, to PREFIX-disk.raw).
void prepare_disk_image(const QemuOptions& o) {
    const std::string& file = o.disk_archive.empty() ? o.disk_image : o.disk_archive;
    if (!fs::exists(file)) throw Error("`" + file + "` does not exist (build it with `berth build --format ...`)", ENOENT);
    if (o.disk_archive.empty()) return;
    std::string dir = o.prefix + "-disk.d";
    run_checked({"rm", "-rf", "--", dir});
    fs::mkdir_p(dir);
    ProcessResult r = run_process({"tar", "-xzf", o.disk_archive, "-C", dir, "disk.raw"});
    if (r.exit_code != 0) {
        run_process({"rm", "-rf", "--", dir});
        throw Error("`" + o.disk_archive + "`: no disk.raw in it (tar: " + fs::trim(r.err) + ")", EINVAL);
    }
    if (::rename((dir + "/disk.raw").c_str(), o.disk_image.c_str()) < 0) throw_errno("rename to `" + o.disk_image + "`");
    run_checked({"rm", "-rf", "--", dir});
}

void prepare_ovmf(const QemuOptions& o) {
    if (*o.arch != Arch::amd64) throw Error("--uefi: OVMF boots amd64 guests only", EINVAL);
    std::string templ = o.secure_boot ? (o.efivars_template.empty() ? kSnakeoilVars : o.efivars_template)
                                      : (o.efivars_template.empty() ? kOvmfVars : o.efivars_template);
    for (const std::string& f : {ovmf_code(o), templ})
        if (!fs::exists(f)) throw Error("UEFI boot: `" + f + "` is missing (apt-get install ovmf)", ENOENT);
    std::string vars = efivars_path(o);
    // Secure Boot: the keys of the template on every boot, whatever a previous
    // boot changed.
    if (fs::exists(vars) && !o.secure_boot) return;
    std::string tmp = vars + ".tmp";
    fs::write_file(tmp, fs::read_file(templ), 0644);
    if (::rename(tmp.c_str(), vars.c_str()) < 0) throw_errno("rename `" + tmp + "` to `" + vars + "`");
}

}  // namespace

void write_uki_esp(const std::string& uki, const std::string& esp) {
    std::uint64_t kib = (fs::read_file(uki).size() / 1024) * 21 / 20 + 2048;  // FAT tables and room
    std::string tmp = esp + ".tmp";
    ::unlink(tmp.c_str());
    ::setenv("MTOOLS_SKIP_CHECK", "1", 1);
    for (const auto& argv : std::vector<std::vector<std::string>>{
             {"mkfs.vfat", "-n", "BERTH-ESP", "-C", tmp, std::to_string(kib)},
             {"mmd", "-i", tmp, "::/EFI", "::/EFI/BOOT"},
             {"mcopy", "-i", tmp, uki, "::/EFI/BOOT/BOOTX64.EFI"}}) {
        ProcessResult r = run_process(argv);
        if (r.exit_code != 0) {
            ::unlink(tmp.c_str());
            throw Error("UKI boot disk: `" + quote_command(argv) + "` failed: " + fs::trim(r.err), EIO);
        }
    }
    if (::rename(tmp.c_str(), esp.c_str()) < 0) throw_errno("rename `" + tmp + "` to `" + esp + "`");
}

int run_qemu(const QemuOptions& given) {
    QemuOptions o = given;
    if (o.iso.empty() && o.squashfs.empty() && (!o.uki.empty() || !fs::exists(o.prefix + "-initrd.img")) &&
        fs::exists(o.prefix + "-squashfs.img"))
        o.squashfs = o.prefix + "-squashfs.img";
    if (o.secure_boot && !o.uefi) throw Error("--secure-boot boots through UEFI: add --uefi", EINVAL);
    std::string cmdline;
    if (!o.uki.empty()) {
        if (!fs::exists(o.uki)) throw Error("`" + o.uki + "` does not exist (build it with `berth build --format uki`)", ENOENT);
        if (o.append.empty()) {
            // Made fresh on every run from the UKI as it is now.
            o.disk_image = o.prefix + "-uki-esp.img";
            o.disk_image_format = "raw";
            write_uki_esp(o.uki, o.disk_image);
        }
    } else if (!o.disk_image.empty()) {
        prepare_disk_image(o);
    } else if (o.iso.empty()) {
        bool sq = !o.squashfs.empty();
        for (const char* suffix : {"-kernel", sq ? "-squashfs-initrd.img" : "-initrd.img", "-cmdline",
                                   sq ? "-squashfs.img" : "-cmdline"})
            if (!fs::exists(o.prefix + suffix))
                throw Error("`" + o.prefix + suffix + "` does not exist (build it with `berth build`)", ENOENT);
        cmdline = fs::trim(fs::read_file(o.prefix + "-cmdline"));
    } else if (!fs::exists(o.iso)) {
        throw Error("`" + o.iso + "` does not exist (build it with `berth build --format iso-bios`)", ENOENT);
    }
    std::string stem = o.prefix;
    if (!o.iso.empty()) stem = o.iso.size() > 4 ? o.iso.substr(0, o.iso.size() - 4) : o.iso;
    for (std::size_t i = 0; i < o.disks.size(); ++i)
        if (o.disks[i].path.empty()) o.disks[i].path = stem + "-disk" + std::to_string(i) + ".img";
    if (o.data && !o.data_file.empty()) throw Error("give only one of --data and --data-file", EINVAL);
    if (o.data || !o.data_file.empty()) {
        std::string data = o.data ? *o.data : fs::read_file(o.data_file);
        o.data_iso = stem + "-data.iso";
        std::string name = stem.substr(stem.rfind('/') == std::string::npos ? 0 : stem.rfind('/') + 1);
        write_data_iso(data, o.data_iso, name.empty() ? "berth" : name);
    }
    for (const auto& d : o.disks) {
        if (fs::exists(d.path)) continue;
        fs::Fd fd(::open(d.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
        if (!fd) throw_errno("--disk: create `" + d.path + "`");
        if (::ftruncate(fd.get(), off_t(d.size)) < 0) throw_errno("--disk: size `" + d.path + "`");
        log::info("created disk {} ({} bytes, sparse)", d.path, d.size);
    }

    QemuOptions opts = o;
    opts.arch = guest_arch(o);
    if (opts.qemu.empty()) opts.qemu = qemu_binary(*opts.arch);
    if (!o.iso.empty() && *opts.arch != Arch::amd64)
        throw Error("`" + o.iso + "`: a BIOS CD image boots only on amd64; boot the kernel and initrd instead", EINVAL);
    if (!o.disk_image.empty() && *opts.arch != Arch::amd64)
        throw Error("`" + o.prefix + "`: disk images boot only on amd64; boot the kernel and initrd instead", EINVAL);
    if (o.uefi) prepare_ovmf(opts);

    ProbeSettings probe = probe_settings(opts);
    AccelMode mode = o.accel;
    Accel accel = choose_accel(mode, probe);
    std::vector<std::string> argv = qemu_command(opts, accel, cmdline);
    log::info("booting {} ({}) with {}", o.prefix, arch_name(*opts.arch), accel_name(accel));
    log::debug("running {}", quote_command(argv));

    // Signals are taken synchronously so that none is lost between fork and wait.
    sigset_t handled, old;
    sigemptyset(&handled);
    for (int s : {SIGCHLD, SIGINT, SIGTERM, SIGHUP}) sigaddset(&handled, s);
    if (sigprocmask(SIG_BLOCK, &handled, &old) < 0) throw_errno("sigprocmask");

    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        // QEMU must not outlive us: a `berth run qemu` killed with SIGKILL (which
        // cannot be forwarded) takes its guest with it.
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || ::getppid() != parent) _exit(127);
        sigprocmask(SIG_SETMASK, &old, nullptr);
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        std::fprintf(stderr, "berth: cannot run %s: %s\n", args[0], std::strerror(errno));
        _exit(127);
    }

    using clock = std::chrono::steady_clock;
    std::optional<clock::time_point> deadline;
    if (o.timeout_s) deadline = clock::now() + std::chrono::seconds(*o.timeout_s);
    bool timed_out = false;
    std::optional<clock::time_point> kill_at;  // SIGKILL if QEMU ignores SIGTERM
    bool killed = false;
    const auto kForwardGrace = std::chrono::seconds(5);
    for (;;) {
        int status;
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            sigprocmask(SIG_SETMASK, &old, nullptr);
            if (timed_out) {
                log::warn("timeout: QEMU stopped after {} s", *o.timeout_s);
                return 124;
            }
            if (WIFEXITED(status)) return WEXITSTATUS(status);
            return 128 + WTERMSIG(status);
        }
        timespec ts{1, 0};
        auto now = clock::now();
        auto next = killed ? std::nullopt : kill_at ? kill_at : (timed_out ? std::nullopt : deadline);
        if (next) {
            auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(*next - now);
            if (left.count() <= 0) {
                if (kill_at) {
                    ::kill(pid, SIGKILL);
                    killed = true;
                } else {
                    timed_out = true;
                    ::kill(pid, SIGTERM);
                    kill_at = now + std::chrono::seconds(3);
                }
                continue;
            }
            if (left < std::chrono::seconds(1)) ts = {0, long(left.count())};
        }
        siginfo_t info;
        int sig = sigtimedwait(&handled, &info, &ts);
        if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
            // Forwarded, then waited for a bounded time: QEMU exits at once on these.
            ::kill(pid, sig);
            if (!kill_at) kill_at = clock::now() + kForwardGrace;
        }
    }
}

}  // namespace berth::builder
