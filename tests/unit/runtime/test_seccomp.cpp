// Compiles profiles with libseccomp and loads them in a forked child (with
// no_new_privs, so no privilege is needed), then checks what the kernel does.
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <functional>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/fs.hpp"
#include "config/oci_defaults.hpp"
#include "config/oci_spec.hpp"
#include "seccomp_model.hpp"
#include "runtime/seccomp.hpp"
#include "runtime/seccomp_shipped.hpp"
#include "../temp_dir.hpp"

using namespace berth;
using nlohmann::json;

namespace {

using test::seccomp_model;

// Runs probe() in a child under the filter; returns the errno it produced
// (0 = the call succeeded), or 1000 + signal when the child was killed.
int errno_under(const runtime::SeccompProgram& p, const std::function<long()>& probe) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) ::_exit(200);
        try {
            runtime::load_seccomp(p);
        } catch (...) {
            ::_exit(201);
        }
        errno = 0;
        long r = probe();
        ::_exit(r < 0 ? (errno & 0xff) : 0);
    }
    int st = 0;
    REQUIRE(::waitpid(pid, &st, 0) == pid);
    if (WIFSIGNALED(st)) return 1000 + WTERMSIG(st);
    return WEXITSTATUS(st);
}

long getprio(long which, long who) { return ::syscall(SYS_getpriority, which, who); }

}  // namespace

TEST_CASE("default action with defaultErrnoRet and a per-rule errnoRet") {
    auto p = runtime::compile_seccomp(seccomp_model(json::parse(R"({
      "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 95,
      "syscalls": [{"names": ["exit", "exit_group", "getpid", "prctl", "seccomp"], "action": "SCMP_ACT_ALLOW"},
                   {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18}]})")));
    CHECK(p.skipped.empty());
    CHECK(errno_under(p, [] { return ::syscall(SYS_getpid); }) == 0);
    CHECK(errno_under(p, [] { return ::syscall(SYS_getppid); }) == EXDEV);
    CHECK(errno_under(p, [] { return ::syscall(SYS_getuid); }) == EOPNOTSUPP);
}

TEST_CASE("conditions on the same argument are ORed, on different arguments ANDed") {
    auto p = runtime::compile_seccomp(seccomp_model(json::parse(R"({
      "defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [
        {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18,
         "args": [{"index": 1, "value": 11111, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 22222, "op": "SCMP_CMP_EQ"}]},
        {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 33,
         "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 33333, "op": "SCMP_CMP_EQ"}]},
        {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 34,
         "args": [{"index": 1, "value": 65280, "valueTwo": 17408, "op": "SCMP_CMP_MASKED_EQ"}]}
      ]})")));
    CHECK(errno_under(p, [] { return getprio(PRIO_PROCESS, 11111); }) == EXDEV);
    CHECK(errno_under(p, [] { return getprio(PRIO_PROCESS, 22222); }) == EXDEV);
    CHECK(errno_under(p, [] { return getprio(PRIO_PROCESS, 0); }) == 0);
    CHECK(errno_under(p, [] { return getprio(PRIO_USER, 33333); }) == 33);
    CHECK(errno_under(p, [] { return getprio(PRIO_PROCESS, 33333); }) != 33);  // both conditions needed
    CHECK(errno_under(p, [] { return getprio(PRIO_PROCESS, 0x4400 + 0x12); }) == 34);  // (who & 0xff00) == 0x4400
}

TEST_CASE("kill and trap actions end the process with SIGSYS") {
    auto p = runtime::compile_seccomp(seccomp_model(json::parse(R"({
      "defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"},
                   {"names": ["getuid"], "action": "SCMP_ACT_TRAP"}]})")));
    CHECK(errno_under(p, [] { return ::syscall(SYS_getppid); }) == 1000 + SIGSYS);
    CHECK(errno_under(p, [] { return ::syscall(SYS_getuid); }) == 1000 + SIGSYS);
}

TEST_CASE("unknown syscall names are skipped and reported, the rest applies") {
    auto p = runtime::compile_seccomp(seccomp_model(json::parse(R"({
      "defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["no_such_syscall", "getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18}]})")));
    CHECK(p.skipped == std::vector<std::string>{"no_such_syscall"});
    CHECK(errno_under(p, [] { return ::syscall(SYS_getppid); }) == EXDEV);
}

TEST_CASE("listed architectures and flags reach the program") {
    oci::Seccomp one = seccomp_model(json::parse(R"({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]})"));
    oci::Seccomp multi = one;
    multi.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"};
    multi.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
    auto a = runtime::compile_seccomp(one), b = runtime::compile_seccomp(multi);
    CHECK(b.insns.size() > a.insns.size());  // one branch per architecture
    CHECK(a.flags == 0);
    CHECK(b.flags == 6);
    CHECK(errno_under(b, [] { return ::syscall(SYS_getppid); }) == EPERM);
}

TEST_CASE("the shipped default profile blocks what Docker's blocks") {
    auto p = runtime::compile_seccomp(seccomp_model(oci::load_default_seccomp_json()));
    CHECK(p.skipped.empty());
    CHECK(p.insns.size() < 4096);
    CHECK(errno_under(p, [] { return ::syscall(SYS_getpid); }) == 0);
    CHECK(errno_under(p, [] { return ::syscall(SYS_clone3, nullptr, 0); }) == ENOSYS);
    CHECK(errno_under(p, [] { return long(::unshare(CLONE_NEWUSER)); }) == EPERM);
    CHECK(errno_under(p, [] { return ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0); }) == EPERM);
    CHECK(errno_under(p, [] { return long(::socket(40 /* AF_VSOCK */, SOCK_STREAM, 0)); }) == EPERM);
    CHECK(errno_under(p, [] { return ::syscall(SYS_keyctl, 0, 0, 0, 0, 0); }) == EPERM);
    CHECK(errno_under(p, [] { return ::syscall(SYS_bpf, 0, 0, 0); }) == EPERM);
    CHECK(errno_under(p, [] { return ::syscall(SYS_mount, "none", "/", "tmpfs", 0, 0); }) == EPERM);
    CHECK(errno_under(p, [] { return ::syscall(SYS_personality, 0x0040000 /* ADDR_NO_RANDOMIZE */); }) == EPERM);
    // Plain fork is still allowed: clone without namespace flags.
    CHECK(errno_under(p, [] {
              pid_t c = pid_t(::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));
              if (c == 0) ::_exit(0);
              return long(c);
          }) == 0);
}

// Here rather than in test_seccomp_shipped.cpp: it loads a filter, which
// qemu-user (the arm64 unit test run) refuses.
TEST_CASE("a precompiled program from the bundle loads and acts like the compiled one") {
    oci::Seccomp s = seccomp_model(json::parse(R"({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42}]})"));
    runtime::ShippedSeccomp shipped;
    {
        berth::test::TempDir bundle;
        fs::write_file(bundle / "seccomp.bpf", runtime::precompile_seccomp(s, runtime::seccomp_native_arch()), 0644);
        shipped = runtime::load_shipped_seccomp(bundle.path(), s);
    }
    REQUIRE(shipped.program);
    CHECK(errno_under(*shipped.program, [] { return ::syscall(SYS_getppid); }) == 42);
}
