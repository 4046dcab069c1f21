#include "builder/arch.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstddef>
#include <cstring>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::builder {

namespace {

// Reads up to `n` bytes at `off`; fewer when the file is shorter or unreadable.
std::string read_at(const std::string& path, std::size_t off, std::size_t n) {
    fs::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return {};
    std::string buf(n, '\0');
    ssize_t got = ::pread(fd.get(), buf.data(), n, off_t(off));
    buf.resize(got > 0 ? std::size_t(got) : 0);
    return buf;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// `rel` (relative to the root `dir`) with symlinks followed inside `dir`; "" when a
// link leads nowhere or loops.
std::string resolve_in_root(const std::string& dir, std::string rel) {
    for (int hops = 0; hops < 16; ++hops) {
        std::string p = fs::join(dir, rel);
        struct stat st;
        if (::lstat(p.c_str(), &st) < 0) return "";
        if (!S_ISLNK(st.st_mode)) return S_ISREG(st.st_mode) ? p : "";
        char buf[4096];
        ssize_t n = ::readlink(p.c_str(), buf, sizeof buf - 1);
        if (n <= 0) return "";
        std::string target(buf, std::size_t(n));
        if (target[0] == '/') {
            rel = target.substr(1);
        } else {
            std::size_t slash = rel.rfind('/');
            rel = (slash == std::string::npos ? "" : rel.substr(0, slash + 1)) + target;
        }
    }
    return "";
}

}  // namespace

Arch parse_arch(const std::string& s) {
    if (s == "amd64" || s == "x86_64") return Arch::amd64;
    if (s == "arm64" || s == "aarch64") return Arch::arm64;
    throw Error("unknown architecture `" + s + "` (expected amd64 or arm64)", EINVAL);
}

const char* arch_name(Arch a) { return a == Arch::arm64 ? "arm64" : "amd64"; }

Arch host_arch() {
#if defined(__aarch64__)
    return Arch::arm64;
#else
    return Arch::amd64;
#endif
}

std::optional<std::string> elf_arch(const std::string& path) {
    std::string h = read_at(path, 0, sizeof(Elf64_Ehdr));
    if (h.size() < EI_NIDENT + 4 || h.compare(0, SELFMAG, ELFMAG) != 0) return std::nullopt;
    // e_machine sits at the same offset in 32- and 64-bit headers; berth's targets
    // are little-endian.
    std::uint16_t machine;
    std::memcpy(&machine, h.data() + offsetof(Elf64_Ehdr, e_machine), sizeof machine);
    if (machine == EM_X86_64) return "amd64";
    if (machine == EM_AARCH64) return "arm64";
    return "ELF machine " + std::to_string(machine);
}

void check_elf_arch(const std::string& path, Arch want, const std::string& what) {
    auto got = elf_arch(path);
    if (got && *got != arch_name(want))
        throw Error(what + " is built for " + *got + ", not " + arch_name(want) +
                        (want == Arch::arm64 ? " (the arm64 PID 1 comes from the cross build: make arm64)" : ""),
                    ENOEXEC);
}

std::optional<std::string> rootfs_arch(const std::string& dir) {
    for (const char* rel : {"bin/sh", "bin/busybox", "usr/bin/sh"}) {
        std::string p = resolve_in_root(dir, rel);
        if (auto a = p.empty() ? std::nullopt : elf_arch(p)) return a;
    }
    for (const char* sub : {"bin", "usr/bin", "sbin", "usr/sbin"}) {
        std::string d = fs::join(dir, sub);
        if (!fs::is_dir(d)) continue;
        std::size_t looked = 0;
        for (const auto& n : fs::list_dir(d)) {
            if (++looked > 256) break;  // a big image: the shell check above is the usual answer
            std::string p = resolve_in_root(dir, std::string(sub) + "/" + n);
            if (auto a = p.empty() ? std::nullopt : elf_arch(p)) return a;
        }
    }
    return std::nullopt;
}

void check_rootfs_arch(const std::string& dir, Arch want, const std::string& what) {
    auto got = rootfs_arch(dir);
    if (got && *got != arch_name(want))
        throw Error(what + " (directory `" + dir + "`) holds " + *got + " programs, not " + arch_name(want) +
                        "; give an image for " + arch_name(want) + " (busybox: make-busybox-image --arch " +
                        arch_name(want) + ")",
                    ENOEXEC);
}

std::optional<Arch> kernel_image_arch(const std::string& path) {
    // arm64 Image header: magic "ARM\x64" at offset 56 (Documentation/arm64/booting.rst).
    if (read_at(path, 56, 4) == std::string("ARM\x64", 4)) return Arch::arm64;
    // x86 boot protocol: "HdrS" at 0x202.
    if (read_at(path, 0x202, 4) == "HdrS") return Arch::amd64;
    return std::nullopt;
}

std::string kernel_package_for(const std::string& package, Arch want) {
    if (package.find('/') != std::string::npos || ends_with(package, ".deb")) return package;
    for (Arch other : {Arch::amd64, Arch::arm64}) {
        std::string suffix = std::string("-") + arch_name(other);
        if (other != want && ends_with(package, suffix))
            return package.substr(0, package.size() - suffix.size()) + "-" + arch_name(want);
    }
    return package;
}

std::string cmdline_for(const std::string& cmdline, Arch want) {
    // Console devices the target machine has: the virtual terminals, virtio
    // consoles, and its own serial ports (no ttyS on arm64 `virt`, no ttyAMA on a PC).
    const std::string serial = want == Arch::arm64 ? "ttyAMA" : "ttyS";
    // The kernel's /dev/console (where PID 1 writes) is the last console named
    // that the machine has; a name it lacks leaves it on the first one registered,
    // the screen. So berth's console is appended when the last one named is missing.
    bool last_usable = false;
    std::size_t i = 0;
    while (i < cmdline.size()) {
        std::size_t j = cmdline.find(' ', i);
        if (j == std::string::npos) j = cmdline.size();
        std::string word = cmdline.substr(i, j - i);
        if (word.rfind("console=", 0) == 0) {
            std::string dev = word.substr(8);
            bool vt = dev.size() > 3 && dev.rfind("tty", 0) == 0 && std::isdigit(static_cast<unsigned char>(dev[3]));
            bool own_serial = dev.size() > serial.size() && dev.rfind(serial, 0) == 0 &&
                              std::isdigit(static_cast<unsigned char>(dev[serial.size()]));
            last_usable = vt || dev.rfind("hvc", 0) == 0 || own_serial;
        }
        i = j + 1;
    }
    if (last_usable) return cmdline;  // as written
    return cmdline + (cmdline.empty() ? "" : " ") + "console=" + serial + "0";
}

void check_cmdline_length(const std::string& line, const std::string& what) {
    if (line.size() > kKernelCmdlineMax)
        throw Error(what + " is " + std::to_string(line.size()) + " bytes; the kernel keeps at most " +
                        std::to_string(kKernelCmdlineMax) + " and would cut the rest: shorten kernel.cmdline",
                    E2BIG);
}

}  // namespace berth::builder
