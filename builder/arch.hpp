// Target architectures: the names berth accepts, how to recognise a binary or a
// kernel built for one, and what differs between them when an image is built.
// Names are the OCI/Debian ones (amd64, arm64); x86_64 and aarch64 are accepted.
#pragma once
#include <optional>
#include <string>

namespace berth::builder {

enum class Arch { amd64, arm64 };

Arch parse_arch(const std::string& s);  // throws Error naming the accepted values
const char* arch_name(Arch a);          // "amd64" | "arm64"
Arch host_arch();                       // the architecture this program was built for

// The architecture of an ELF file: "amd64", "arm64", or "ELF machine N" for others;
// nullopt when the file is not an ELF file (or cannot be read).
std::optional<std::string> elf_arch(const std::string& path);

// Throws when `path` is an ELF file for another architecture; `what` names it in
// the message ("init binary `...`"). A file that is not ELF passes.
void check_elf_arch(const std::string& path, Arch want, const std::string& what);

// The architecture of a root file system directory, from its shell or busybox
// (bin/sh, bin/busybox, then the first ELF file in bin/ or usr/bin/); symlinks are
// followed inside `dir`. nullopt when it holds no ELF program there.
std::optional<std::string> rootfs_arch(const std::string& dir);

// Throws when the root file system `dir` holds programs for another architecture
// (see rootfs_arch); `what` names the image in the message.
void check_rootfs_arch(const std::string& dir, Arch want, const std::string& what);

// The architecture of a kernel image: x86 bzImage ("HdrS" header) or arm64 Image
// ("ARM\x64" magic); nullopt for anything else (compressed or unknown formats).
std::optional<Arch> kernel_image_arch(const std::string& path);

// A Debian kernel package named for one architecture maps to the same flavour for
// `want`: linux-image-cloud-amd64 -> linux-image-cloud-arm64. Other names (paths,
// versioned names of the right architecture) come back unchanged.
std::string kernel_package_for(const std::string& package, Arch want);

// The kernel command line for `want`, kept as written; berth's serial console
// (ttyS0 on a PC, ttyAMA0 on the arm64 `virt` machine) is appended only when the
// line names no console, or when the last one it names is not on the target
// (LinuxKit's "console=tty0 console=ttyS0 console=ttyAMA0" on a PC): the kernel
// gives /dev/console to the last console named that exists, so berth's boot
// lines reach the serial port instead of the screen.
std::string cmdline_for(const std::string& cmdline, Arch want);

// The longest command line the kernel keeps (COMMAND_LINE_SIZE 2048 on x86 and
// arm64, NUL included); it cuts a longer one silently, dropping what berth
// appends last (console, verity root hash, slot).
inline constexpr std::size_t kKernelCmdlineMax = 2047;

// Throws Error when `line` is longer than kKernelCmdlineMax; `what` names it
// ("the command line of out/web-squashfs").
void check_cmdline_length(const std::string& line, const std::string& what);

}  // namespace berth::builder
