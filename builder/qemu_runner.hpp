// `berth run qemu PREFIX`: boots PREFIX-kernel + PREFIX-initrd.img with the
// command line in PREFIX-cmdline, serial console on stdio.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "builder/accel_probe.hpp"
#include "builder/arch.hpp"

namespace berth::builder {

struct PortForward {
    std::string protocol = "tcp";  // tcp | udp
    unsigned host_port = 0;
    unsigned guest_port = 0;
};

// "8080:80", "8080:80/tcp", "5353:53/udp"; throws on anything else.
PortForward parse_publish(const std::string& s);

// --disk FILE[,size=SIZE] or LinuxKit's --disk file=FILE,size=SIZE[,format=raw]:
// a raw virtio disk, created sparse with SIZE (default 1G) when the file does not
// exist; an existing file is used as it is. Without file= (LinuxKit's form) the
// path is left empty and run_qemu names it PREFIX-diskN.img, as LinuxKit does.
struct DiskOption {
    std::string path;
    std::uint64_t size = std::uint64_t(1) << 30;
};
DiskOption parse_disk(const std::string& s);
// "512M", "1G", "4096" (bytes), "64K".
std::uint64_t parse_size(const std::string& s);
// --mem: "512" (MiB, as before), or with a unit as LinuxKit takes it: "1G", "512M".
unsigned parse_memory_mb(const std::string& s);

// The user data CD `--data`/`--data-file` attach, as `linuxkit run --data` does:
// an ISO 9660 image labelled "cidata" holding the data as `config` (what
// LinuxKit's metadata package reads from a CD) and as `user-data` with a
// `meta-data` naming the instance (cloud-init's NoCloud layout). Made with xorriso.
void write_data_iso(const std::string& data, const std::string& iso_path, const std::string& instance_id);

struct QemuOptions {
    std::string prefix;  // OUTDIR/NAME
    // The guest architecture; unset: the kernel image's (PREFIX-kernel), else the host's.
    std::optional<Arch> arch;
    std::string qemu;    // default: qemu_binary(arch)
    unsigned mem_mb = 512;
    unsigned cpus = 1;
    std::vector<PortForward> publish;
    AccelMode accel = AccelMode::automatic;
    std::optional<unsigned> timeout_s;
    std::string append;  // extra kernel command line
    std::string monitor; // unix socket path for the QEMU human monitor; "" = none
    std::vector<DiskOption> disks;
    // --data / --data-file: user data for the guest, attached as a CD (see
    // write_data_iso) on a virtio-scsi controller (/dev/sr0 in the guest).
    std::optional<std::string> data;
    std::string data_file;
    std::string data_iso;  // set by run_qemu: the CD made from them (PREFIX-data.iso)
    // Boot a CD image (iso-bios output) instead of PREFIX-kernel + initrd: set when
    // the argument ends in ".iso".
    std::string iso;
    // The root on a squashfs (kernel+squashfs output): PREFIX-squashfs.img, attached
    // read-only as the last virtio disk, booted with PREFIX-squashfs-initrd.img. Set
    // when the argument ends in "-squashfs.img", or by run_qemu when PREFIX has no
    // initrd but has a squashfs image.
    std::string squashfs;
    // Firmware passed as -bios: "" = the architecture's default (arm64: Debian's UEFI
    // build, so the guest sees ACPI and QEMU's power button; amd64: QEMU's own BIOS),
    // "none" = boot the kernel directly (arm64: device tree, no power button).
    std::string firmware;
    // Where `--accel auto` caches its KVM verdict; "" = default_probe_cache_file().
    std::string probe_cache_file;
    // Boot a disk image instead (see set_boot_file): the file QEMU opens, its QEMU
    // format (raw | qcow2 | vpc), and for a gcp tar.gz the archive it came from.
    std::string disk_image;
    std::string disk_image_format;
    std::string disk_archive;
    // Boot through UEFI (Debian's OVMF, amd64): for *-efi.* files and --uefi.
    bool uefi = false;
    // --secure-boot: OVMF's Secure Boot build (kSecureBootCode, which needs SMM: the
    // q35 board with smm=on and secure flash) with a fresh copy of a variable store
    // whose keys enforce Secure Boot on every boot: `efivars_template`, default
    // kSnakeoilVars (Debian's test keys; sign with kSnakeoilKey/.pem).
    bool secure_boot = false;
    std::string efivars_template;
    // A unified kernel image (the uki output, NAME.efi): set when the argument ends
    // in ".efi". Booted as the removable-media loader of a small ESP disk made for
    // the run (PREFIX-uki-esp.img), or, with --append, handed to the firmware as
    // QEMU's -kernel with EXTRA as its load options (a boot loader's command line).
    std::string uki;
};

// What the one argument of `berth run qemu` names, by its ending: FILE.iso (a CD,
// UEFI for FILE-efi.iso), PREFIX-squashfs.img, a disk image (PREFIX-bios.img,
// PREFIX-efi.img, PREFIX.raw, PREFIX.qcow2, PREFIX-efi.qcow2, PREFIX.vhd,
// PREFIX.img.tar.gz; UEFI for the -efi ones), PREFIX.efi (a UKI, UEFI), else
// PREFIX (kernel + initrd).
// Sets prefix, iso, squashfs, disk_image, disk_image_format, disk_archive, uki, uefi.
void set_boot_file(QemuOptions& o, const std::string& arg);

// Debian's OVMF (package ovmf): the firmware code, and the variable store each
// UEFI boot copies once to PREFIX-efivars.fd and then keeps (boot entries persist).
extern const char* const kOvmfCode;
extern const char* const kOvmfVars;
// Its Secure Boot build, and the variable store with Debian's snakeoil test key in
// PK, KEK and db (Secure Boot on); the key (passphrase "snakeoil") and certificate.
extern const char* const kSecureBootCode;
extern const char* const kSnakeoilVars;
extern const char* const kSnakeoilKey;
extern const char* const kSnakeoilCert;

// The ESP image for booting a UKI: a FAT file system holding it as
// EFI/BOOT/BOOTX64.EFI (mkfs.vfat and mtools, nothing mounted).
void write_uki_esp(const std::string& uki, const std::string& esp_path);

// Debian's UEFI firmware for QEMU's arm64 `virt` board (package qemu-efi-aarch64).
extern const char* const kArm64UefiFirmware;

// The -bios file for these options, or "" for QEMU's default; throws when the
// arm64 default is not installed or a named file does not exist.
std::string firmware_path(const QemuOptions& o, Arch arch);

// qemu-system-x86_64 | qemu-system-aarch64
std::string qemu_binary(Arch arch);

// The architecture to boot PREFIX-kernel as: --arch when given (an error if the
// kernel image says otherwise), else what the kernel image says, else the host's.
Arch guest_arch(const QemuOptions& o);

// The full QEMU command line for an already chosen accelerator. amd64 boots a q35
// PC with the console on ttyS0; arm64 the `virt` board (GIC, PL011 console on
// ttyAMA0, PSCI so that poweroff and reboot reach QEMU, UEFI firmware so the
// kernel gets ACPI tables and the power button) with the same virtio devices on
// its PCIe bus.
std::vector<std::string> qemu_command(const QemuOptions& o, Accel accel, const std::string& cmdline);

// The KVM probe for a boot with these options (arch and qemu already resolved):
// the same QEMU, machine, CPU model and vCPU count; the build's kernel when one is
// known (PREFIX-kernel; for FILE.iso, FILE-kernel), else the probe's boot sector.
ProbeSettings probe_settings(const QemuOptions& o);

// Runs QEMU in the foreground; returns its exit status (124 on --timeout, 128+N if
// it was killed by signal N). Every boot path (kernel, squashfs, ISO) takes its
// accelerator from choose_accel. SIGINT/SIGTERM/SIGHUP are forwarded to QEMU,
// which gets SIGKILL if it is still there 5 s later; QEMU is started with
// PR_SET_PDEATHSIG, so it dies with us even when we are SIGKILLed.
int run_qemu(const QemuOptions& o);

}  // namespace berth::builder
