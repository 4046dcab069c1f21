#include "builder/accel_probe.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
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

bool kvm_device_usable() {
    fs::Fd fd(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
    return bool(fd);
}

std::string default_probe_cache_file() {
    const char* rt = std::getenv("XDG_RUNTIME_DIR");
    std::string dir = rt && *rt == '/' && fs::is_dir(rt) ? rt : "/tmp";
    return fs::join(dir, "berth-kvm-probe-" + std::to_string(::getuid()));
}

static std::string boot_id() {
    auto s = fs::try_read_file("/proc/sys/kernel/random/boot_id");
    return s ? fs::trim(*s) : "";
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

bool probe_kvm_boots(const ProbeSettings& s) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) throw_errno("pipe");
    fs::Fd rd(p[0]), wr(p[1]);
    bool arm = s.arch == Arch::arm64;
    std::vector<std::string> argv = {
        s.qemu, "-nodefaults", "-no-user-config", "-machine", arm ? "virt" : "q35", "-accel", "kvm", "-cpu", "host",
        "-m", "256", "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot",
        "-kernel", s.kernel, "-append",
        arm ? "console=ttyAMA0 earlycon panic=-1" : "console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1"};
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
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
        if (seen.find("Linux version") != std::string::npos) {
            ok = true;
            break;
        }
        if (seen.size() > 65536) seen.erase(0, seen.size() - 64);
    }
    ::kill(pid, SIGKILL);
    reap_with_deadline(pid, 2000);
    return ok;
}

Accel choose_accel(AccelMode mode, const ProbeSettings& s) {
    if (mode == AccelMode::tcg) return Accel::tcg;
    if (s.arch != host_arch()) {
        if (mode == AccelMode::kvm)
            throw Error(std::string("--accel kvm: KVM cannot run an ") + arch_name(s.arch) + " guest on this " +
                            arch_name(host_arch()) + " host; use --accel tcg",
                        EINVAL);
        log::info("{} guest on an {} host: using TCG (software emulation, slower)", arch_name(s.arch),
                  arch_name(host_arch()));
        return Accel::tcg;
    }
    if (mode == AccelMode::kvm) {
        if (!kvm_device_usable()) throw_errno("--accel kvm: cannot open /dev/kvm");
        return Accel::kvm;
    }
    if (!kvm_device_usable()) {
        log::info("/dev/kvm is not available; using TCG (software emulation, slower)");
        return Accel::tcg;
    }
    std::string cache = s.cache_file.empty() ? default_probe_cache_file() : s.cache_file;
    std::string id = boot_id();
    if (auto c = fs::try_read_file(cache); c && !id.empty()) {
        std::string line = fs::trim(*c);
        if (line == id + " kvm") return Accel::kvm;
        if (line == id + " tcg") {
            log::info("KVM did not work earlier during this boot of the host (cached in {}); using TCG", cache);
            return Accel::tcg;
        }
    }
    log::info("probing KVM (booting the kernel for at most {} s)", s.timeout_ms / 1000);
    bool ok = probe_kvm_boots(s);
    if (!ok)
        log::warn("KVM produced no serial output within {} s; falling back to TCG (slower)", s.timeout_ms / 1000);
    if (!id.empty()) {
        std::string tmp = cache + ".tmp-" + std::to_string(::getpid());
        try {
            fs::write_file(tmp, id + (ok ? " kvm\n" : " tcg\n"), 0644);
            if (::rename(tmp.c_str(), cache.c_str()) < 0) ::unlink(tmp.c_str());
        } catch (const Error& e) {
            log::debug("cannot cache the KVM probe result: {}", e.what());
        }
    }
    return ok ? Accel::kvm : Accel::tcg;
}

}  // namespace berth::builder
