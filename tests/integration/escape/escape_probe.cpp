// Escape probe: run as root inside a container made with berth's secure
// defaults, it attempts each classic way out and reports how the kernel
// answered. Static, so it runs in a bare busybox rootfs.
//   escape-probe all HOST_MARKER HOST_PID [no-fork-bomb]
//                                           every attempt; exit 0 only if all blocked
//   escape-probe suid-check                 (installed setuid root) exit 100 if euid is 0
//   escape-probe suid-try                   drop to uid 1000, exec the setuid copy, print the euid
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/reboot.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <grp.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

namespace {

constexpr const char* kSuidCopy = "/bin/escape-probe-suid";
constexpr int kSuidRoot = 100, kSuidUser = 101;

struct Outcome {
    bool blocked;
    std::string detail;
};

std::string errno_text(int e) {
    const char* name = strerrorname_np(e);
    return std::string(name ? name : "E?") + " " + std::strerror(e);
}

// A syscall that returned -1: blocked when errno is one the kernel uses to
// refuse for lack of privilege or a read-only/masked path.
Outcome refused(long rc, std::initializer_list<int> refusals) {
    if (rc != -1) return {false, "succeeded (returned " + std::to_string(rc) + ")"};
    int e = errno;
    for (int r : refusals)
        if (e == r) return {true, errno_text(e)};
    return {false, "failed past the permission check: " + errno_text(e)};
}

// Runs an attempt that would change this process's view (mounts, root) in a
// child with its own mount namespace when it may have one; the verdict comes
// back through a pipe.
Outcome in_child(Outcome (*attempt)()) {
    int p[2];
    if (::pipe(p) < 0) return {false, "pipe: " + errno_text(errno)};
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(p[0]);
        ::unshare(CLONE_NEWNS);  // refused under the defaults: then the attempt meets the same ns
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);
        Outcome o = attempt();
        std::string line = (o.blocked ? "1" : "0") + o.detail;
        ssize_t n = ::write(p[1], line.data(), line.size());
        ::_exit(n == ssize_t(line.size()) ? 0 : 1);
    }
    ::close(p[1]);
    char buf[512];
    ssize_t n = pid < 0 ? -1 : ::read(p[0], buf, sizeof buf);
    ::close(p[0]);
    if (pid > 0) ::waitpid(pid, nullptr, 0);
    if (n < 1) return {false, "child gave no verdict"};
    return {buf[0] == '1', std::string(buf + 1, size_t(n - 1))};
}

Outcome try_mount() {
    return refused(::mount("tmpfs", "/tmp", "tmpfs", 0, nullptr), {EPERM});
}

Outcome try_umount() {  // unmasking /proc/kcore would undo a masked path
    return refused(::umount2("/proc/kcore", MNT_DETACH), {EPERM});
}

Outcome try_pivot_root() {
    ::mkdir("/tmp/old", 0700);
    return refused(::syscall(SYS_pivot_root, "/tmp", "/tmp/old"), {EPERM});
}

// The classic chroot breakout: chroot into a subdirectory while keeping the
// cwd outside it, walk up, chroot("."). In a forked child, as it moves the root.
Outcome try_chroot_escape(const char* host_marker) {
    pid_t pid = ::fork();
    if (pid == 0) {
        ::mkdir("/tmp/jail", 0700);
        if (::chroot("/tmp/jail") < 0) ::_exit(errno == EPERM ? 10 : 11);
        for (int i = 0; i < 64; ++i)
            if (::chdir("..") < 0) break;
        if (::chroot(".") < 0) ::_exit(errno == EPERM ? 10 : 11);
        struct stat st{};
        ::_exit(::stat(host_marker, &st) == 0 ? 0 : 1);
    }
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) < 0) return {false, "fork/wait: " + errno_text(errno)};
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 10) return {true, "chroot refused: EPERM"};
    if (code == 1) return {true, "chroot allowed but the walk up ends at the container root (host file not visible)"};
    return {false, code == 0 ? "host file visible after chroot(\".\")" : "unexpected child status"};
}

Outcome try_finit_module() {
    int fd = ::open("/bin/busybox", O_RDONLY | O_CLOEXEC);
    Outcome o = refused(::syscall(SYS_finit_module, fd, "", 0), {EPERM});
    ::close(fd);
    return o;
}

Outcome try_init_module() {
    static const char not_an_elf[64] = "\177ELF";
    return refused(::syscall(SYS_init_module, not_an_elf, sizeof not_an_elf, ""), {EPERM});
}

Outcome try_reboot() {
    // CAD_OFF changes nothing in a child pid namespace (EINVAL after the
    // capability check), so even a failure here cannot reboot the host.
    return refused(::syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, nullptr),
                   {EPERM});
}

// Opens for writing only: if that succeeds the attempt is reported, nothing is written.
Outcome try_open_for_write(std::initializer_list<const char*> candidates) {
    for (const char* path : candidates) {
        int fd = ::open(path, O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            ::close(fd);
            return {false, std::string(path) + " opened for writing"};
        }
        if (errno == ENOENT) continue;
        int e = errno;
        if (e == EROFS || e == EACCES || e == EPERM) return {true, std::string(path) + ": " + errno_text(e)};
        return {false, std::string(path) + ": unexpected " + errno_text(e)};
    }
    // Not in this kernel (the test checks it is absent on the host too).
    return {true, "absent: none of the candidate files exists"};
}

Outcome try_read_kcore() {
    int fd = ::open("/proc/kcore", O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return {true, "absent (kernel without /proc/kcore)"};
    if (fd < 0) return {errno == EACCES || errno == EPERM, "open: " + errno_text(errno)};
    char b[16];
    ssize_t n = ::read(fd, b, sizeof b);
    int e = errno;
    ::close(fd);
    if (n == 0) return {true, "reads as empty (masked by /dev/null)"};
    if (n < 0) return {e == EACCES || e == EPERM, "read: " + errno_text(e)};
    return {false, "read " + std::to_string(n) + " bytes of kernel memory"};
}

Outcome try_ptrace(pid_t outside) {
    long rc = ::ptrace(PTRACE_ATTACH, outside, nullptr, nullptr);
    if (rc == 0) {
        ::ptrace(PTRACE_DETACH, outside, nullptr, nullptr);
        return {false, "attached to pid " + std::to_string(outside)};
    }
    return refused(rc, {ESRCH, EPERM});
}

Outcome try_open_by_handle() {
    struct {
        file_handle h;
        unsigned char bytes[MAX_HANDLE_SZ];
    } fh{};
    fh.h.handle_bytes = MAX_HANDLE_SZ;
    int mount_id = 0;
    if (::name_to_handle_at(AT_FDCWD, "/etc/passwd", &fh.h, &mount_id, 0) < 0)
        return {errno == EPERM, "name_to_handle_at: " + errno_text(errno)};
    int root = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    long fd = ::open_by_handle_at(root, &fh.h, O_RDONLY);
    Outcome o = refused(fd, {EPERM});
    if (fd >= 0) ::close(int(fd));
    ::close(root);
    return o;
}

Outcome try_socket(int family, int type, int proto) {
    int fd = ::socket(family, type, proto);
    Outcome o = refused(fd, {EPERM, EACCES});
    if (fd >= 0) ::close(fd);
    return o;
}

Outcome try_keyctl() {
    return refused(::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "escape"), {EPERM});
}

Outcome try_bpf() {
    union bpf_attr a{};
    a.map_type = BPF_MAP_TYPE_ARRAY;
    a.key_size = 4;
    a.value_size = 4;
    a.max_entries = 1;
    long fd = ::syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof a);
    Outcome o = refused(fd, {EPERM});
    if (fd >= 0) ::close(int(fd));
    return o;
}

Outcome try_unshare_userns() {
    pid_t pid = ::fork();  // unshare would change this process's namespaces
    if (pid == 0) ::_exit(::unshare(CLONE_NEWUSER) == 0 ? 0 : errno == EPERM ? 10 : 11);
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) < 0) return {false, "fork/wait: " + errno_text(errno)};
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 10) return {true, errno_text(EPERM)};
    return {false, code == 0 ? "new user namespace created" : "failed past the permission check"};
}

// Child drops to uid 1000 and executes the setuid-root copy of this probe.
int suid_try() {
    if (::setgroups(0, nullptr) < 0 || ::setresgid(1000, 1000, 1000) < 0 || ::setresuid(1000, 1000, 1000) < 0) {
        std::perror("drop to uid 1000");
        return 2;
    }
    char arg0[] = "escape-probe-suid", arg1[] = "suid-check";
    char* argv[] = {arg0, arg1, nullptr};
    ::execv(kSuidCopy, argv);
    std::perror("exec setuid copy");
    return 3;
}

Outcome try_setuid_escalation() {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(suid_try());
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) < 0) return {false, "fork/wait: " + errno_text(errno)};
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == kSuidUser) return {true, "setuid-root binary ran with euid 1000 (no_new_privs)"};
    if (code == kSuidRoot) return {false, "setuid-root binary ran with euid 0"};
    return {false, "could not run the setuid copy (status " + std::to_string(code) + ")"};
}

Outcome try_mknod_block() {
    int rc = ::mknod("/dev/escape-sda", S_IFBLK | 0600, makedev(8, 0));
    if (rc == 0) ::unlink("/dev/escape-sda");
    return refused(rc, {EPERM});
}

// Forks until the kernel refuses; pids.max must stop it well before the cap.
Outcome try_fork_bomb() {
    constexpr int kCap = 4096;
    std::vector<pid_t> kids;
    int e = 0;
    while (int(kids.size()) < kCap) {
        pid_t p = ::fork();
        if (p == 0) {
            ::pause();
            ::_exit(0);
        }
        if (p < 0) {
            e = errno;
            break;
        }
        kids.push_back(p);
    }
    for (pid_t p : kids) ::kill(p, SIGKILL);
    for (pid_t p : kids) ::waitpid(p, nullptr, 0);
    std::string n = std::to_string(kids.size());
    if (e == EAGAIN) return {true, "fork refused after " + n + " processes: " + errno_text(e)};
    if (e) return {false, "fork failed after " + n + " with unexpected " + errno_text(e)};
    return {false, n + " processes forked, no limit reached"};
}

int run_all(const char* host_marker, pid_t outside_pid, bool fork_bomb) {
    struct Attempt {
        const char* name;
        std::function<Outcome()> run;
    };
    std::vector<Attempt> attempts = {
        {"mount", [] { return in_child(try_mount); }},
        {"umount", [] { return in_child(try_umount); }},
        {"pivot_root", [] { return in_child(try_pivot_root); }},
        {"chroot-escape", [&] { return try_chroot_escape(host_marker); }},
        {"finit_module", try_finit_module},
        {"init_module", try_init_module},
        {"reboot", try_reboot},
        {"write-proc-sys", [] { return try_open_for_write({"/proc/sys/kernel/hostname", "/proc/sys/vm/drop_caches"}); }},
        {"write-sys", [] {
             return try_open_for_write({"/sys/kernel/mm/transparent_hugepage/enabled", "/sys/kernel/uevent_helper",
                                        "/sys/kernel/mm/ksm/run", "/sys/class/net/lo/mtu"});
         }},
        {"write-sysrq-trigger", [] { return try_open_for_write({"/proc/sysrq-trigger"}); }},
        {"read-kcore", try_read_kcore},
        {"ptrace-outside", [&] { return try_ptrace(outside_pid); }},
        {"open_by_handle_at", try_open_by_handle},
        {"raw-socket", [] { return try_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP); }},
        {"packet-socket", [] { return try_socket(AF_PACKET, SOCK_RAW, 0); }},
        {"keyctl", try_keyctl},
        {"bpf", try_bpf},
        {"unshare-user", try_unshare_userns},
        {"setuid-escalation", try_setuid_escalation},
        {"mknod-block", try_mknod_block},
    };
    if (fork_bomb) attempts.push_back({"fork-bomb", try_fork_bomb});
    int blocked = 0;
    for (const auto& a : attempts) {
        errno = 0;
        Outcome o = a.run();
        std::printf("escape %-20s %s (%s)\n", a.name, o.blocked ? "blocked" : "NOT BLOCKED", o.detail.c_str());
        std::fflush(stdout);
        blocked += o.blocked;
    }
    std::printf("%zu tried, %d blocked\n", attempts.size(), blocked);
    return blocked == int(attempts.size()) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "suid-check") return ::geteuid() == 0 ? kSuidRoot : kSuidUser;
    if (mode == "suid-try") {
        Outcome o = try_setuid_escalation();
        std::printf("suid %s\n", o.detail.c_str());
        return 0;
    }
    if (mode == "all" && (argc == 4 || (argc == 5 && std::string(argv[4]) == "no-fork-bomb")))
        return run_all(argv[2], pid_t(std::atoi(argv[3])), argc == 4);
    std::fprintf(stderr, "usage: %s all HOST_MARKER HOST_PID [no-fork-bomb] | suid-check | suid-try\n", argv[0]);
    return 2;
}
