#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <catch2/catch.hpp>

#include "config/oci_defaults.hpp"
#include "config/oci_spec.hpp"
#include "spec_fixture.hpp"

using namespace berth::oci;
using nlohmann::json;

namespace {

Spec with_seccomp(const json& seccomp) {
    json j = minimal_config();
    j["linux"]["seccomp"] = seccomp;
    return parse_spec(j, "config.json");
}

std::vector<std::string> problems_of(const json& seccomp) {
    try {
        with_seccomp(seccomp);
    } catch (const ConfigError& e) {
        return e.problems();
    }
    return {};
}

}  // namespace

TEST_CASE("seccomp profile is parsed into the typed model") {
    Spec s = with_seccomp(json::parse(R"({
      "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"],
      "flags": ["SECCOMP_FILTER_FLAG_LOG"],
      "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["kill"], "action": "SCMP_ACT_KILL"},
        {"names": ["personality"], "action": "SCMP_ACT_TRACE", "errnoRet": 7,
         "args": [{"index": 0, "value": 255, "valueTwo": 8, "op": "SCMP_CMP_MASKED_EQ"}]}
      ]})"));
    REQUIRE(s.linux_.seccomp);
    const Seccomp& sc = *s.linux_.seccomp;
    CHECK(sc.default_action == SeccompAction::errno_ret);
    CHECK(sc.default_errno_ret == 38u);
    CHECK(sc.architectures == std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"});
    CHECK(sc.flags == std::vector<std::string>{"SECCOMP_FILTER_FLAG_LOG"});
    REQUIRE(sc.syscalls.size() == 3);
    CHECK(sc.syscalls[0].names == std::vector<std::string>{"read", "write"});
    CHECK(sc.syscalls[1].action == SeccompAction::kill_thread);
    CHECK(sc.syscalls[2].action == SeccompAction::trace);
    CHECK(sc.syscalls[2].errno_ret == 7u);
    REQUIRE(sc.syscalls[2].args.size() == 1);
    CHECK(sc.syscalls[2].args[0].op == SeccompOp::masked_eq);
    CHECK(sc.syscalls[2].args[0].value == 255);
    CHECK(sc.syscalls[2].args[0].value_two == 8);
}

TEST_CASE("every seccomp problem is reported with its JSON path") {
    auto p = problems_of(json::parse(R"({
      "defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1,
      "architectures": ["SCMP_ARCH_VAX"],
      "flags": ["SECCOMP_FILTER_FLAG_NEW_LISTENER"],
      "listenerPath": "/run/l.sock",
      "syscalls": [
        {"names": [], "action": "SCMP_ACT_ALLOW"},
        {"names": ["read"], "action": "SCMP_ACT_NOPE"},
        {"names": ["read"], "action": "SCMP_ACT_NOTIFY"},
        {"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 5},
        {"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_XX"}]}
      ]})"));
    auto has = [&](const std::string& s) {
        for (const auto& x : p)
            if (x == s) return true;
        return false;
    };
    CHECK(has("linux.seccomp.defaultErrnoRet: only meaningful with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not SCMP_ACT_ALLOW"));
    CHECK(has("linux.seccomp.architectures[0]: unknown architecture \"SCMP_ARCH_VAX\""));
    CHECK(has("linux.seccomp.flags[0]: unsupported seccomp flag \"SECCOMP_FILTER_FLAG_NEW_LISTENER\""));
    CHECK(has("linux.seccomp.listenerPath: seccomp notification listeners are not supported by berth"));
    CHECK(has("linux.seccomp.syscalls[0].names: must not be empty"));
    CHECK(has("linux.seccomp.syscalls[1].action: unknown seccomp action \"SCMP_ACT_NOPE\""));
    CHECK(has("linux.seccomp.syscalls[2].action: SCMP_ACT_NOTIFY needs a seccomp listener, which berth does not support"));
    CHECK(has("linux.seccomp.syscalls[3].errnoRet: only meaningful with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not SCMP_ACT_ALLOW"));
    CHECK(has("linux.seccomp.syscalls[4].args[0].index: must be 0 to 5, got 6"));
    CHECK(has("linux.seccomp.syscalls[4].args[0].op: unknown seccomp operator \"SCMP_CMP_XX\""));
    CHECK(p.size() == 10);
}

TEST_CASE("a missing default action is required") {
    auto p = problems_of(json::parse(R"({"syscalls": []})"));
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "linux.seccomp.defaultAction: required");
}

TEST_CASE("shipped defaults load and are at least as strict as Docker's") {
    json sc = load_default_seccomp_json();
    CHECK(sc["defaultAction"] == "SCMP_ACT_ERRNO");
    CHECK(sc["defaultErrnoRet"] == 1);
    Spec s = with_seccomp(sc);
    const Seccomp& m = *s.linux_.seccomp;
    bool clone3_enosys = false, clone_filtered = false, socket_filtered = false;
    std::vector<std::string> allowed_unconditionally;
    for (const auto& r : m.syscalls) {
        for (const auto& n : r.names) {
            if (n == "clone3") clone3_enosys = r.action == SeccompAction::errno_ret && r.errno_ret == 38u;
            if (n == "clone") clone_filtered = r.args.size() == 1 && r.args[0].op == SeccompOp::masked_eq &&
                                               (r.args[0].value & 0x10000000u) && r.args[0].value_two == 0;
            if (n == "socket") socket_filtered = r.args.size() == 1 && r.args[0].value == 40;
            if (r.action == SeccompAction::allow && r.args.empty()) allowed_unconditionally.push_back(n);
        }
    }
    CHECK(clone3_enosys);
    CHECK(clone_filtered);
    CHECK(socket_filtered);
    for (const char* denied : {"mount", "umount2", "unshare", "setns", "bpf", "keyctl", "add_key", "reboot",
                               "init_module", "finit_module", "kexec_load", "open_by_handle_at", "pivot_root",
                               "clone", "socket", "io_uring_setup", "perf_event_open", "swapon"})
        CHECK(std::find(allowed_unconditionally.begin(), allowed_unconditionally.end(), denied) ==
              allowed_unconditionally.end());

    SecurityDefaults d = load_security_defaults();
    CHECK(std::find(d.masked_paths.begin(), d.masked_paths.end(), "/proc/kcore") != d.masked_paths.end());
    CHECK(std::find(d.readonly_paths.begin(), d.readonly_paths.end(), "/proc/sys") != d.readonly_paths.end());
}

TEST_CASE("BERTH_DEFAULTS_DIR overrides the defaults directory and bad files are named") {
    std::string dir = "/tmp/berth-defaults-test-" + std::to_string(::getpid());
    REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
    FILE* f = std::fopen((dir + "/security.json").c_str(), "w");
    std::fputs(R"({"maskedPaths": ["rel"], "readonlyPaths": ["also-rel"]})", f);
    std::fclose(f);
    ::setenv(kDefaultsDirEnv, dir.c_str(), 1);
    CHECK(defaults_dir() == dir);
    try {
        load_security_defaults();
        FAIL("no error");
    } catch (const ConfigError& e) {
        CHECK(e.source() == dir + "/security.json");
        REQUIRE(e.problems().size() == 2);
        CHECK(e.problems()[0] == "maskedPaths: not an absolute path: \"rel\"");
        CHECK(e.problems()[1] == "readonlyPaths: not an absolute path: \"also-rel\"");
    }
    ::unsetenv(kDefaultsDirEnv);
    CHECK(defaults_dir() != dir);
    std::remove((dir + "/security.json").c_str());
    ::rmdir(dir.c_str());
}
