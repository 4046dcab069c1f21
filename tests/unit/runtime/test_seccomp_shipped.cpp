// Precompiled seccomp programs (the bundle's seccomp.bpf): what the builder
// ships is byte for byte what the runtime would compile at boot, and a file
// that does not match the spec, the machine or the libseccomp is refused so
// the launch compiles instead.
#include <linux/audit.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/fs.hpp"
#include "common/sha256.hpp"
#include "config/oci_defaults.hpp"
#include "config/oci_spec.hpp"
#include "config/seccomp_program.hpp"
#include "runtime/seccomp.hpp"
#include "runtime/seccomp_shipped.hpp"
#include "../skip.hpp"
#include "seccomp_model.hpp"
#include "../temp_dir.hpp"

using namespace berth;
using nlohmann::json;

namespace {

using test::seccomp_model;

bool same_insns(const std::vector<sock_filter>& a, const std::vector<sock_filter>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(sock_filter)) == 0;
}

struct TempBundle {
    berth::test::TempDir tmp;
    const std::string dir{tmp.path()};
    void ship(const std::string& bytes) const { fs::write_file(fs::join(dir, oci::kSeccompProgramFile), bytes, 0644); }
};

// The default profile and custom ones exercising every compile path: errno
// and kill defaults, conditions (ANDed, ORed on one argument, masked), flags,
// a syscall only some architectures have, and a name libseccomp does not know.
// No SCMP_ACT_LOG nor SCMP_ACT_KILL_PROCESS: libseccomp asks the kernel for
// them, which qemu-user (the arm64 unit test run) cannot answer; they are
// only other return values in the program.
std::vector<std::pair<std::string, oci::Seccomp>> profiles() {
    std::vector<std::pair<std::string, oci::Seccomp>> out;
    out.emplace_back("default", seccomp_model(oci::load_default_seccomp_json()));
    json errno13 = oci::load_default_seccomp_json();
    errno13["defaultErrnoRet"] = 13;
    out.emplace_back("default, errno 13", seccomp_model(errno13));
    out.emplace_back("allow-list with kill", seccomp_model(json::parse(R"({"defaultAction": "SCMP_ACT_KILL",
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"],
      "syscalls": [{"names": ["read", "write", "exit_group", "open", "arm_fadvise64_64", "no_such_call_xyz"],
                    "action": "SCMP_ACT_ALLOW"}]})")));
    out.emplace_back("conditions and flags", seccomp_model(json::parse(R"({"defaultAction": "SCMP_ACT_ALLOW",
      "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
      "syscalls": [
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
         "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_NE"}, {"index": 0, "value": 8, "op": "SCMP_CMP_NE"}]},
        {"names": ["clone"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["socket"], "action": "SCMP_ACT_TRAP",
         "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 3, "op": "SCMP_CMP_GE"}]},
        {"names": ["getppid", "setns"], "action": "SCMP_ACT_TRACE", "errnoRet": 7}]})")));
    return out;
}

std::string other_arch(const std::string& native) { return native == "x86_64" ? "aarch64" : "x86_64"; }

}  // namespace

TEST_CASE("precompiled seccomp: the program a launch loads is the one libseccomp compiles at boot") {
    const std::string native = runtime::seccomp_native_arch();
    for (const auto& [name, s] : profiles()) {
        INFO("profile: " << name);
        TempBundle bundle;
        bundle.ship(runtime::precompile_seccomp(s, native));
        runtime::ShippedSeccomp shipped = runtime::load_shipped_seccomp(bundle.dir, s);
        REQUIRE(shipped.program);
        CHECK(shipped.refused.empty());
        const runtime::SeccompProgram boot = runtime::compile_seccomp(s);
        CHECK(same_insns(shipped.program->insns, boot.insns));
        CHECK(shipped.program->flags == boot.flags);
        CHECK(shipped.program->skipped == boot.skipped);
    }
}

TEST_CASE("precompiled seccomp: a foreign target starts with the target's architecture") {
    // Byte identity with the target's own compile needs the target: see
    // tests/integration/seccomp/cross_arch.sh (qemu-user). Here: the program
    // is not the native one, and its first architecture test is the target's.
    const std::string native = runtime::seccomp_native_arch();
    if (native != "x86_64" && native != "aarch64") BERTH_SKIP("only amd64 and arm64 hosts are built for");
    const std::string target = other_arch(native);
    const std::uint32_t want = target == "aarch64" ? AUDIT_ARCH_AARCH64 : AUDIT_ARCH_X86_64;
    for (const auto& [name, s] : profiles()) {
        INFO("profile: " << name);
        oci::SeccompProgramFile f = oci::decode_seccomp_program(runtime::precompile_seccomp(s, target));
        CHECK(f.made_from.arch == target);
        CHECK_FALSE(same_insns(f.insns, runtime::compile_seccomp(s).insns));
        // libseccomp's prologue: load seccomp_data.arch, compare with each architecture's AUDIT_ARCH.
        REQUIRE(f.insns.size() > 2);
        CHECK(f.insns[0].code == (BPF_LD | BPF_W | BPF_ABS));
        CHECK(f.insns[0].k == 4);
        CHECK((f.insns[1].code & BPF_JMP) == BPF_JMP);
        CHECK(f.insns[1].k == want);
        // And a launch on this machine refuses it.
        TempBundle bundle;
        bundle.ship(runtime::precompile_seccomp(s, target));
        auto shipped = runtime::load_shipped_seccomp(bundle.dir, s);
        CHECK_FALSE(shipped.program);
        CHECK(shipped.refused.find("built for " + target) != std::string::npos);
    }
}

TEST_CASE("precompiled seccomp: a tampered, damaged or mismatched file is refused") {
    oci::Seccomp s = seccomp_model(oci::load_default_seccomp_json());
    const std::string native = runtime::seccomp_native_arch();
    const std::string good = runtime::precompile_seccomp(s, native);
    TempBundle bundle;
    auto refused = [&](const std::string& bytes, const oci::Seccomp& spec = {}) {
        bundle.ship(bytes);
        runtime::ShippedSeccomp r = runtime::load_shipped_seccomp(bundle.dir, spec == oci::Seccomp{} ? s : spec);
        CHECK(r.file_present);
        return r.program ? std::string() : r.refused;
    };
    REQUIRE(refused(good).empty());

    SECTION("one instruction changed") {
        std::string t = good;
        t[t.size() - 3] ^= 0x40;
        CHECK(refused(t).find("does not match its digest") != std::string::npos);
    }
    SECTION("an instruction added, the digest recomputed by hand is still not the header's") {
        CHECK(refused(good + std::string(8, '\0')).find("bytes of program") != std::string::npos);
    }
    SECTION("truncated") {
        CHECK_FALSE(refused(good.substr(0, good.size() - 8)).empty());
        CHECK_FALSE(refused(good.substr(0, 30)).empty());
        CHECK_FALSE(refused("").empty());
    }
    SECTION("another format") { CHECK(refused("berth-seccomp-program 2" + good.substr(23)).find("format 1") != std::string::npos); }
    SECTION("config.json's profile edited after the build") {
        oci::Seccomp edited = s;
        edited.syscalls[0].names.push_back("getppid");
        CHECK(refused(good, edited).find("another seccomp profile") != std::string::npos);
    }
    SECTION("made by another libseccomp") {
        oci::SeccompProgramFile f = oci::decode_seccomp_program(good);
        f.made_from.libseccomp = "2.4.0";
        CHECK(refused(oci::encode_seccomp_program(f)).find("libseccomp 2.4.0") != std::string::npos);
    }
    SECTION("made for another architecture") {
        oci::SeccompProgramFile f = oci::decode_seccomp_program(good);
        f.made_from.arch = other_arch(native);
        CHECK(refused(oci::encode_seccomp_program(f)).find("built for") != std::string::npos);
    }
    SECTION("no file: nothing to refuse, the launch compiles") {
        TempBundle empty;
        auto r = runtime::load_shipped_seccomp(empty.dir, s);
        CHECK_FALSE(r.program);
        CHECK_FALSE(r.file_present);
    }
}

// Not a check: the figures behind docs/runtime.md's "precompiled seccomp"
// (run with the tag: runtime-unit-tests "[.timing]").
TEST_CASE("precompiled seccomp: time of a compile vs loading the file", "[.timing]") {
    oci::Seccomp s = seccomp_model(oci::load_default_seccomp_json());
    TempBundle bundle;
    bundle.ship(runtime::precompile_seccomp(s, runtime::seccomp_native_arch()));
    using clock = std::chrono::steady_clock;
    auto us = [](clock::duration d) { return std::chrono::duration_cast<std::chrono::microseconds>(d).count(); };
    std::vector<long> compile, load;
    for (int i = 0; i < 20; ++i) {
        auto t0 = clock::now();
        auto c = runtime::compile_seccomp(s);
        auto t1 = clock::now();
        auto l = runtime::load_shipped_seccomp(bundle.dir, s);
        auto t2 = clock::now();
        REQUIRE(l.program);
        REQUIRE(same_insns(c.insns, l.program->insns));
        compile.push_back(us(t1 - t0));
        load.push_back(us(t2 - t1));
    }
    std::sort(compile.begin(), compile.end());
    std::sort(load.begin(), load.end());
    WARN("default profile: compile median " << compile[10] << " us (min " << compile[0] << ", first-run cold "
         "figures need a fresh process), precompiled load median " << load[10] << " us (min " << load[0] << ")");
}

TEST_CASE("sha256: FIPS 180-2 examples") {
    CHECK(digest::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(digest::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(digest::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(digest::sha256_hex(std::string(1000000, 'a')) ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    // Lengths around the padding boundary: one or two final blocks.
    CHECK(digest::sha256_hex(std::string(55, 'x')) == "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");
    CHECK(digest::sha256_hex(std::string(56, 'x')) == "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e");
    CHECK(digest::sha256_hex(std::string(63, 'x')) == "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2");
    CHECK(digest::sha256_hex(std::string(64, 'x')) == "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c");
    CHECK(digest::sha256_hex(std::string(119, 'x')) == "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c");
    CHECK(digest::sha256_hex(std::string(120, 'x')) == "13f05a0b594787f5ecd315edc96141bd3243203d1b7d4f0836f37308b276ba98");
}
