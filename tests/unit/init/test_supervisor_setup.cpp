// What PID 1 prepares for the supervisor after early boot, through the seam:
// every failure is logged with its path and errno and costs only its feature.
#include <algorithm>

#include <catch2/catch.hpp>

#include "fake_sys.hpp"
#include "init/supervisor_setup.hpp"
#include "log_capture.hpp"

using namespace berth::init;
using testing::FakeSys;
using testing::LogCapture;

namespace {

std::vector<std::string> with_prefix(const std::vector<std::string>& calls, const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& c : calls)
        if (c.rfind(prefix, 0) == 0) out.push_back(c);
    return out;
}

}  // namespace

TEST_CASE("make_directories: every component in order, the first failure named") {
    FakeSys sys;
    CHECK(make_directories(sys, "/run/berth/notify", 0755) == 0);
    CHECK(with_prefix(sys.calls, "mkdir ") ==
          std::vector<std::string>{"mkdir /run", "mkdir /run/berth", "mkdir /run/berth/notify"});

    FakeSys ro;
    ro.mkdir_errors["/run/berth"] = -EROFS;
    std::string failed;
    CHECK(make_directories(ro, "/run/berth/notify", 0755, &failed) == -EROFS);
    CHECK(failed == "/run/berth");
    CHECK(with_prefix(ro.calls, "mkdir ").back() == "mkdir /run/berth");
}

TEST_CASE("cgroups: the berth subtree with controllers enabled; a refused mkdir leaves containers in PID 1's cgroup") {
    LogCapture log;
    FakeSys sys;
    sys.files["/sys/fs/cgroup/berth/cgroup.controllers"] = "cpu memory pids\n";
    CHECK(prepare_cgroups(sys, true) == "/sys/fs/cgroup/berth");
    for (const char* d : {"mkdir /sys/fs/cgroup/berth", "mkdir /sys/fs/cgroup/berth/onboot",
                          "mkdir /sys/fs/cgroup/berth/services", "mkdir /sys/fs/cgroup/berth/onshutdown"})
        CHECK(std::count(sys.calls.begin(), sys.calls.end(), d) >= 1);
    CHECK(std::count(sys.calls.begin(), sys.calls.end(), "write /sys/fs/cgroup/berth/cgroup.subtree_control +pids") == 1);

    FakeSys none;
    CHECK(prepare_cgroups(none, false).empty());
    CHECK(with_prefix(none.calls, "mkdir ").empty());

    FakeSys refused;
    refused.mkdir_errors["/sys/fs/cgroup/berth/services"] = -ENOSPC;
    CHECK(prepare_cgroups(refused, true).empty());
    CHECK(log.has("cgroups: mkdir /sys/fs/cgroup/berth/services: No space left on device"));
    CHECK(with_prefix(refused.calls, "mkdir /sys/fs/cgroup/berth/onshutdown").empty());
}

TEST_CASE("runtime dirs: notify dir and the CLI link; each failure logged and the other kept") {
    FakeSys sys;
    auto ok = prepare_runtime_dirs(sys);
    CHECK(ok.notify);
    CHECK(ok.cli_link);
    CHECK(std::count(sys.calls.begin(), sys.calls.end(), "symlink /init /run/berth/bin/berth") == 1);

    LogCapture log;
    FakeSys full;
    full.mkdir_errors["/run/berth/notify"] = -ENOSPC;
    full.symlink_errors["/run/berth/bin/berth"] = -EACCES;
    auto bad = prepare_runtime_dirs(full);
    CHECK_FALSE(bad.notify);
    CHECK_FALSE(bad.cli_link);
    CHECK(log.has("mkdir /run/berth/notify: No space left on device"));
    CHECK(log.has("symlink /run/berth/bin/berth: Permission denied"));
}

TEST_CASE("process setup: console non-blocking and subreaper; failures are warnings") {
    FakeSys sys;
    prepare_process(sys);
    CHECK(with_prefix(sys.calls, "nonblocking ") == std::vector<std::string>{"nonblocking 1"});
    CHECK(with_prefix(sys.calls, "subreaper") == std::vector<std::string>{"subreaper"});

    LogCapture log;
    FakeSys bad;
    bad.nonblocking_error = -EBADF;
    bad.subreaper_error = -EINVAL;
    prepare_process(bad);
    CHECK(log.has("console (fd 1) left blocking: Bad file descriptor"));
    CHECK(log.has("PR_SET_CHILD_SUBREAPER: Invalid argument"));
}
