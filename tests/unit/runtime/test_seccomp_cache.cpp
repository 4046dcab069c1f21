// The compiled-program cache: same profile -> the identical program, from
// memory or from the directory; any other profile or a damaged file -> a fresh
// compile, never a wrong filter.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/fs.hpp"
#include "config/oci_defaults.hpp"
#include "config/oci_spec.hpp"
#include "seccomp_model.hpp"
#include "runtime/seccomp_cache.hpp"
#include "../temp_dir.hpp"

using namespace berth;
using nlohmann::json;

namespace {

using test::seccomp_model;

bool same(const runtime::SeccompProgram& a, const runtime::SeccompProgram& b) {
    return a.flags == b.flags && a.skipped == b.skipped && a.insns.size() == b.insns.size() &&
           std::memcmp(a.insns.data(), b.insns.data(), a.insns.size() * sizeof(sock_filter)) == 0;
}

std::string only_file(const std::string& dir) {
    auto names = fs::list_dir(dir);
    REQUIRE(names.size() == 1);
    return fs::join(dir, names[0]);
}

}  // namespace

TEST_CASE("seccomp cache: the key covers every field compile_seccomp reads") {
    oci::Seccomp a = seccomp_model(oci::load_default_seccomp_json());
    const std::string base = runtime::seccomp_cache_key(a);
    oci::Seccomp b = a;
    b.default_errno_ret = 2;
    CHECK(runtime::seccomp_cache_key(b) != base);
    b = a;
    b.syscalls.back().args.push_back({1, 2, 0, oci::SeccompOp::eq});
    CHECK(runtime::seccomp_cache_key(b) != base);
    b = a;
    b.flags.push_back("SECCOMP_FILTER_FLAG_LOG");
    CHECK(runtime::seccomp_cache_key(b) != base);
    b = a;
    b.syscalls[0].names.push_back("getpid");
    CHECK(runtime::seccomp_cache_key(b) != base);
    CHECK(runtime::seccomp_cache_key(a) == base);
}

TEST_CASE("seccomp cache: a directory entry gives the program a fresh compile gives") {
    berth::test::TempDir tmp;
    const std::string dir = tmp / "cache";
    // A profile of its own so the in-memory cache of earlier cases cannot answer.
    json j = oci::load_default_seccomp_json();
    j["defaultErrnoRet"] = 13;
    oci::Seccomp s = seccomp_model(j);

    const auto fresh = runtime::compile_seccomp(s);
    const auto first = runtime::compile_seccomp_cached(s, dir);
    CHECK(same(fresh, first));
    const std::string file = only_file(dir);
    struct stat st{};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    // Read back from the directory (memory forgotten): proven by a changed
    // instruction in the file coming back.
    auto data = fs::try_read_file(file);
    REQUIRE(data);
    std::string tampered = *data;
    tampered[tampered.size() - 2] ^= 1;
    fs::write_file(file, tampered, 0600);
    runtime::forget_cached_seccomp();
    CHECK_FALSE(same(runtime::compile_seccomp_cached(s, dir), fresh));

    // Another profile's entry under this profile's file name: its key differs,
    // so it is recompiled, not used.
    json j2 = j;
    j2["defaultErrnoRet"] = 14;
    oci::Seccomp s2 = seccomp_model(j2);
    const auto other = runtime::compile_seccomp_cached(s2, dir);
    CHECK(same(other, runtime::compile_seccomp(s2)));
    std::string other_file;
    for (const auto& name : fs::list_dir(dir))
        if (fs::join(dir, name) != file) other_file = fs::join(dir, name);
    REQUIRE(!other_file.empty());
    fs::write_file(file, *fs::try_read_file(other_file), 0600);
    runtime::forget_cached_seccomp();
    CHECK(same(runtime::compile_seccomp_cached(s, dir), fresh));

    // A truncated entry is recompiled too.
    fs::write_file(file, data->substr(0, data->size() - 5), 0600);
    runtime::forget_cached_seccomp();
    CHECK(same(runtime::compile_seccomp_cached(s, dir), fresh));
    CHECK(fs::try_read_file(file) == data);  // and rewritten whole
}
