#include "builder/qemu_runner.hpp"

#include <signal.h>
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

std::vector<std::string> qemu_command(const QemuOptions& o, Accel accel, const std::string& cmdline) {
    std::string netdev = "user,id=net0";
    for (const auto& p : o.publish)
        netdev += ",hostfwd=" + p.protocol + ":127.0.0.1:" + std::to_string(p.host_port) + "-:" +
                  std::to_string(p.guest_port);
    std::string append = cmdline;
    if (!o.append.empty()) append += (append.empty() ? "" : " ") + o.append;
    return {
        o.qemu, "-nodefaults", "-no-user-config",
        "-machine", "q35", "-accel", accel_name(accel), "-cpu", accel == Accel::kvm ? "host" : "max",
        "-smp", std::to_string(o.cpus), "-m", std::to_string(o.mem_mb),
        "-kernel", o.prefix + "-kernel", "-initrd", o.prefix + "-initrd.img", "-append", append,
        "-display", "none", "-monitor", o.monitor.empty() ? "none" : "unix:" + o.monitor + ",server=on,wait=off",
        "-serial", "stdio", "-no-reboot",
        "-netdev", netdev, "-device", "virtio-net-pci,netdev=net0",
        "-device", "virtio-rng-pci",
    };
}

int run_qemu(const QemuOptions& o) {
    for (const char* suffix : {"-kernel", "-initrd.img", "-cmdline"})
        if (!fs::exists(o.prefix + suffix))
            throw Error("`" + o.prefix + suffix + "` does not exist (build it with `berth build`)", ENOENT);
    std::string cmdline = fs::trim(fs::read_file(o.prefix + "-cmdline"));

    ProbeSettings probe;
    probe.qemu = o.qemu;
    probe.kernel = o.prefix + "-kernel";
    Accel accel = choose_accel(o.accel, probe);
    std::vector<std::string> argv = qemu_command(o, accel, cmdline);
    log::info("booting {} with {}", o.prefix, accel_name(accel));
    log::debug("running {}", quote_command(argv));

    // Signals are taken synchronously so that none is lost between fork and wait.
    sigset_t handled, old;
    sigemptyset(&handled);
    for (int s : {SIGCHLD, SIGINT, SIGTERM, SIGHUP}) sigaddset(&handled, s);
    if (sigprocmask(SIG_BLOCK, &handled, &old) < 0) throw_errno("sigprocmask");

    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
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
        auto next = kill_at ? kill_at : (timed_out ? std::nullopt : deadline);
        if (next) {
            auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(*next - now);
            if (left.count() <= 0) {
                if (kill_at) {
                    ::kill(pid, SIGKILL);
                    kill_at.reset();
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
        if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) ::kill(pid, sig);
    }
}

}  // namespace berth::builder
