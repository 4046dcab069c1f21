#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "runtime/process.hpp"
#include "../temp_dir.hpp"

using namespace berth::runtime;

TEST_CASE("PATH search candidates follow execvpe") {
    CHECK(exec_candidates("sh", "/usr/bin:/bin") == std::vector<std::string>{"/usr/bin/sh", "/bin/sh"});
    CHECK(exec_candidates("sh", "/usr/bin/::/bin/") ==
          std::vector<std::string>{"/usr/bin/sh", "sh", "/bin/sh"});
    CHECK(exec_candidates("./run", "/bin") == std::vector<std::string>{"./run"});
    CHECK(exec_candidates("/bin/sh", "/x") == std::vector<std::string>{"/bin/sh"});
}

TEST_CASE("environment lookup and HOME default") {
    std::vector<std::string> env{"PATH=/bin", "PATHX=no", "A=1", "A=2"};
    CHECK(env_get(env, "PATH") == "/bin");
    CHECK(env_get(env, "A") == "2");
    CHECK_FALSE(env_get(env, "PAT"));
    auto out = build_env(env, "/root");
    CHECK(out.back() == "HOME=/root");
    env.push_back("HOME=/custom");
    CHECK(build_env(env, "/root") == env);
}

// exec_process only returns by throwing when nothing could be executed, so
// its error paths can be tested in-process.
TEST_CASE("exec failures are distinguishable") {
    berth::test::TempDir tmp;
    const std::string& dir = tmp.path();
    berth::fs::write_file(dir + "/script", "#!/bin/sh\n", 0644);  // not executable

    try {
        exec_process({"no-such-binary"}, {"PATH=" + dir + ":/nonexistent"});
        FAIL("exec returned");
    } catch (const berth::Error& e) {
        CHECK(e.code() == ENOENT);
        CHECK(std::string(e.what()) == "executable `no-such-binary` not found in PATH `" + dir + ":/nonexistent`: no such file or directory");
    }
    try {
        exec_process({"script"}, {"PATH=/nonexistent:" + dir});
        FAIL("exec returned");
    } catch (const berth::Error& e) {
        CHECK(e.code() == EACCES);
        CHECK(std::string(e.what()) == "`" + dir + "/script` is not executable: permission denied");
    }
    try {
        exec_process({dir + "/missing"}, {});
        FAIL("exec returned");
    } catch (const berth::Error& e) {
        CHECK(e.code() == ENOENT);
        CHECK_THAT(std::string(e.what()), Catch::StartsWith("executable `" + dir + "/missing` not found"));
    }
}
