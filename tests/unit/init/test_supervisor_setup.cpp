// What PID 1 prepares for the supervisor after early boot, through the seam:
// every failure is logged with its path and errno and costs only its feature.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

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

TEST_CASE("the loop writes a full console's queue out when it can take more, then stops watching it") {
    int p[2];
    REQUIRE(::pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
    REQUIRE(::fcntl(p[1], F_SETPIPE_SZ, 4096) > 0);
    sigset_t none;
    sigemptyset(&none);
    berth::supervisor::EventLoop loop(none, [](const signalfd_siginfo&) {});
    berth::ConsoleOutput console(p[1]);
    std::string want;
    {
        ConsoleWatch watch(loop, console);
        for (int i = 0; i < 20; ++i) {
            std::string line = "svc: line " + std::to_string(i) + " " + std::string(500, 'x') + "\n";
            console.write(line);
            want += line;
        }
        REQUIRE(console.pending());
        // Nothing else writes: only the loop's EPOLLOUT handler empties the queue.
        std::string seen;
        char buf[4096];
        for (int round = 0; round < 200 && seen.size() < want.size(); ++round) {
            ssize_t n = ::read(p[0], buf, sizeof buf);
            if (n > 0) seen.append(buf, size_t(n));
            loop.run_once(100);
        }
        CHECK(seen == want);
        CHECK_FALSE(console.pending());
        // No longer watched: a round with nothing to do waits its whole timeout.
        auto t0 = std::chrono::steady_clock::now();
        loop.run_once(50);
        CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(40));
    }
    ::close(p[0]);
    ::close(p[1]);
}
