#include "builder/accel_probe.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace berth::builder {

AccelMode parse_accel_mode(const std::string& s) {
    if (s == "auto") return AccelMode::automatic;
    if (s == "kvm") return AccelMode::kvm;
    if (s == "tcg") return AccelMode::tcg;
    throw Error("--accel: expected auto, kvm or tcg, got `" + s + "`", EINVAL);
}

const char* accel_name(Accel a) { return a == Accel::kvm ? "kvm" : "tcg"; }

MachineModel machine_model(Arch arch, Accel accel) {
    bool arm = arch == Arch::arm64;
    // TCG's architected pointer-authentication algorithm is slow to emulate; the
    // implementation-defined one is as good for a test guest and boots faster.
    std::string tcg_cpu = arm ? "max,pauth-impdef=on" : "max";
    return {arm ? "virt" : "q35", accel == Accel::kvm ? "host" : tcg_cpu};
}

bool kvm_device_usable() {
    fs::Fd fd(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
    return bool(fd);
}

std::string default_probe_cache_file() {
    const char* rt = std::getenv("XDG_RUNTIME_DIR");
    std::string dir = rt && *rt == '/' && fs::is_dir(rt) ? rt : "/tmp";
    return fs::join(dir, "berth-kvm-probe-" + std::to_string(::getuid()));
}

static std::string host_boot_id() {
    auto s = fs::try_read_file("/proc/sys/kernel/random/boot_id");
    return s ? fs::trim(*s) : "";
}

const char* const kBootSectorMarker = "berth-kvm-probe-ok";

std::string probe_boot_sector() {
    // Loaded at 0000:7C00 by the BIOS:
    //   cli; cld; xor ax,ax; mov ds,ax; fwait; fninit; mov si,7C1Ah; mov dx,3F8h
    //   next: lodsb; test al,al; jz done; out dx,al; jmp next
    //   done: hlt; jmp done
    // followed at offset 1Ah by the NUL-terminated marker line. The FPU
    // instructions are there because firmware runs them early (OVMF's first
    // steps): a nested KVM that runs simple real-mode code but cannot execute
    // them ("KVM internal error ... emulation failure") must fail the probe,
    // not the boot that trusts it.
    static const unsigned char code[] = {0xFA, 0xFC, 0x31, 0xC0, 0x8E, 0xD8, 0x9B, 0xDB, 0xE3,
                                         0xBE, 0x1A, 0x7C, 0xBA, 0xF8, 0x03, 0xAC, 0x84, 0xC0,
                                         0x74, 0x03, 0xEE, 0xEB, 0xF8, 0xF4, 0xEB, 0xFD};
    std::string s(reinterpret_cast<const char*>(code), sizeof code);
    s += std::string(kBootSectorMarker) + "\r\n";
    s.push_back('\0');
    s.resize(510, '\0');
    s += "\x55\xAA";
    return s;
}

// Waits up to `ms` for the child to be reaped; a QEMU stuck in a KVM ioctl may not
// die promptly even from SIGKILL, and the probe must not hang on it.
static void reap_with_deadline(pid_t pid, int ms) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < end) {
        pid_t r = ::waitpid(pid, nullptr, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR)) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    log::warn("the KVM probe QEMU (pid {}) did not exit after SIGKILL; leaving it", pid);
}

// Removes the probe's boot sector file however the probe ends.
struct TempFile {
    std::string path;
    ~TempFile() {
        if (!path.empty()) ::unlink(path.c_str());
    }
};

bool probe_kvm_boots(const ProbeSettings& s) {
    bool arm = s.arch == Arch::arm64;
    if (s.kernel.empty() && arm) return false;  // no kernel, and the boot sector is x86 code
    MachineModel m = machine_model(s.arch, Accel::kvm);
    std::vector<std::string> argv = {s.qemu, "-nodefaults", "-no-user-config", "-machine", m.machine,
                                     "-accel", "kvm", "-cpu", m.cpu, "-smp", std::to_string(s.cpus), "-m", "256",
                                     "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot"};
    std::string marker = "Linux version";
    TempFile sector;
    if (!s.kernel.empty()) {
        for (const std::string& a : {std::string("-kernel"), s.kernel, std::string("-append"),
                                     std::string(arm ? "console=ttyAMA0 earlycon panic=-1"
                                                     : "console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1")})
            argv.push_back(a);
    } else {
        std::string dir = fs::is_dir("/tmp") ? "/tmp" : ".";
        std::string tmpl = fs::join(dir, "berth-kvm-probe-XXXXXX");
        int fd = ::mkstemp(tmpl.data());
        if (fd < 0) throw_errno("KVM probe: create a boot sector file in " + dir);
        ::close(fd);
        sector.path = tmpl;
        fs::write_file(sector.path, probe_boot_sector(), 0600);
        argv.push_back("-drive");
        argv.push_back("file=" + sector.path + ",format=raw,if=floppy");
        marker = kBootSectorMarker;
    }
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) throw_errno("pipe");
    fs::Fd rd(p[0]), wr(p[1]);
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        // The probe QEMU dies with us, even if we are SIGKILLed.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) _exit(127);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        int devnull = ::open("/dev/null", O_RDWR);
        ::dup2(devnull, 0);
        ::dup2(wr.get(), 1);
        ::dup2(devnull, 2);
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        _exit(127);
    }
    wr.reset();
    std::string seen;
    bool ok = false;
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(s.timeout_ms);
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd pfd{rd.get(), POLLIN, 0};
        int n = ::poll(&pfd, 1, int(left.count()));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        char buf[4096];
        ssize_t got = ::read(rd.get(), buf, sizeof buf);
        if (got <= 0) break;  // QEMU exited
        seen.append(buf, size_t(got));
        if (seen.find(marker) != std::string::npos) {
            ok = true;
            break;
        }
        if (seen.size() > 65536) seen.erase(0, seen.size() - 64);
    }
    ::kill(pid, SIGKILL);
    reap_with_deadline(pid, 2000);
    return ok;
}

std::string probe_cache_key(const ProbeSettings& s) {
    MachineModel m = machine_model(s.arch, Accel::kvm);
    std::string id = s.boot_id.empty() ? host_boot_id() : s.boot_id;
    return "boot=" + id + " qemu=" + s.qemu + " machine=" + m.machine + " cpu=" + m.cpu +
           " smp=" + std::to_string(s.cpus);
}

namespace {

std::vector<std::string> cache_lines(const std::string& file) {
    std::vector<std::string> out;
    auto text = fs::try_read_file(file);
    if (!text) return out;
    std::size_t i = 0;
    while (i < text->size()) {
        std::size_t nl = text->find('\n', i);
        if (nl == std::string::npos) nl = text->size();
        if (nl > i) out.push_back(text->substr(i, nl - i));
        i = nl + 1;
    }
    return out;
}

// "boot=ID ..." -> "boot=ID"
std::string boot_field(const std::string& line) { return line.substr(0, line.find(' ')); }

}  // namespace

std::optional<Accel> cached_verdict(const std::string& cache_file, const std::string& key) {
    for (const auto& line : cache_lines(cache_file)) {
        if (line == key + " kvm") return Accel::kvm;
        if (line == key + " tcg") return Accel::tcg;
    }
    return std::nullopt;
}

void cache_verdict(const std::string& cache_file, const std::string& key, Accel verdict) {
    std::string text;
    for (const auto& line : cache_lines(cache_file))
        if (boot_field(line) == boot_field(key) && line.rfind(key + " ", 0) != 0) text += line + "\n";
    text += key + " " + accel_name(verdict) + "\n";
    std::string tmp = cache_file + ".tmp-" + std::to_string(::getpid());
    fs::write_file(tmp, text, 0644);
    if (::rename(tmp.c_str(), cache_file.c_str()) < 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        errno = e;
        throw_errno("rename `" + tmp + "`");
    }
}

AccelStep decide_accel(AccelMode mode, Arch guest, Arch host, bool kvm_device, std::optional<Accel> cached) {
    if (mode == AccelMode::tcg) return AccelStep::use_tcg;
    if (guest != host) {
        if (mode == AccelMode::kvm)
            throw Error(std::string("--accel kvm: KVM cannot run an ") + arch_name(guest) + " guest on this " +
                            arch_name(host) + " host; use --accel tcg",
                        EINVAL);
        return AccelStep::use_tcg;
    }
    if (mode == AccelMode::kvm) {
        if (!kvm_device) throw Error("--accel kvm: cannot open /dev/kvm read-write", EACCES);
        return AccelStep::use_kvm;  // the user's explicit choice: no probe
    }
    if (!kvm_device) return AccelStep::use_tcg;
    if (cached) return *cached == Accel::kvm ? AccelStep::use_kvm : AccelStep::use_tcg;
    return AccelStep::probe;
}

Accel choose_accel(AccelMode mode, const ProbeSettings& s) {
    bool device = mode != AccelMode::tcg && s.arch == host_arch() && kvm_device_usable();
    std::string cache = s.cache_file.empty() ? default_probe_cache_file() : s.cache_file;
    std::string key = probe_cache_key(s);
    bool have_boot_id = key.rfind("boot= ", 0) != 0;
    std::optional<Accel> cached;
    if (mode == AccelMode::automatic && device && have_boot_id) cached = cached_verdict(cache, key);
    switch (decide_accel(mode, s.arch, host_arch(), device, cached)) {
        case AccelStep::use_kvm: return Accel::kvm;
        case AccelStep::use_tcg:
            if (mode == AccelMode::automatic) {
                if (s.arch != host_arch())
                    log::info("{} guest on an {} host: using TCG (software emulation, slower)", arch_name(s.arch),
                              arch_name(host_arch()));
                else if (!device)
                    log::info("/dev/kvm is not available; using TCG (software emulation, slower)");
                else
                    log::info("KVM did not work earlier during this boot of the host (cached in {}); using TCG", cache);
            }
            return Accel::tcg;
        case AccelStep::probe: break;
    }
    log::info("probing KVM ({} for at most {} s, {} {})", s.kernel.empty() ? "a boot sector" : "the kernel",
              s.timeout_ms / 1000, machine_model(s.arch, Accel::kvm).machine, machine_model(s.arch, Accel::kvm).cpu);
    bool ok = probe_kvm_boots(s);
    if (!ok)
        log::warn("KVM did not boot the probe (QEMU failed, or printed nothing within {} s); falling back to TCG (slower)",
                  s.timeout_ms / 1000);
    if (have_boot_id) {
        try {
            cache_verdict(cache, key, ok ? Accel::kvm : Accel::tcg);
        } catch (const Error& e) {
            log::debug("cannot cache the KVM probe result: {}", e.what());
        }
    }
    return ok ? Accel::kvm : Accel::tcg;
}

}  // namespace berth::builder
