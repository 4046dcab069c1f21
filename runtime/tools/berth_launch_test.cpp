// Test tool: launches one bundle like PID 1 would and waits for it.
//   berth-launch-test [--id NAME] [--cgroup DIR] [--report-start] [--seccomp-cache DIR]
//                     [--log-seccomp-compile] BUNDLE_DIR
// --log-seccomp-compile: log, as PID 1 does, when the seccomp profile is
// compiled rather than taken from the bundle's seccomp.bpf.
// --report-start prints "start-decided NS" (CLOCK_MONOTONIC) at the moment PID 1
// would decide to start the service, before config.json is read.
// Prints "exit status N" or "killed by signal N" and exits with the status;
// a launch error is printed as "launch error: ..." with exit code 125.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/log.hpp"
#include "config/oci_spec.hpp"
#include "runtime/launcher.hpp"

int main(int argc, char** argv) {
    std::string id = "test", cgroup, bundle, seccomp_cache;
    bool report_start = false, log_seccomp_compile = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--id" && i + 1 < argc) id = argv[++i];
        else if (a == "--cgroup" && i + 1 < argc) cgroup = argv[++i];
        else if (a == "--report-start") report_start = true;
        else if (a == "--seccomp-cache" && i + 1 < argc) seccomp_cache = argv[++i];
        else if (a == "--log-seccomp-compile") log_seccomp_compile = true;
        else bundle = a;
    }
    if (bundle.empty()) {
        std::fprintf(stderr, "usage: %s [--id NAME] [--cgroup DIR] BUNDLE_DIR\n", argv[0]);
        return 2;
    }
    char abs[PATH_MAX];
    if (!realpath(bundle.c_str(), abs)) {
        std::fprintf(stderr, "launch error: bundle `%s`: %s\n", bundle.c_str(), std::strerror(errno));
        return 125;
    }
    berth::log::set_program("berth-launch-test");

    // Behave like PID 1, which keeps every signal blocked for its signalfd.
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);

    berth::runtime::Process p;
    if (report_start) {
        timespec ts{};
        clock_gettime(CLOCK_MONOTONIC, &ts);
        std::printf("start-decided %lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
        std::fflush(stdout);
    }
    try {
        berth::oci::Spec spec = berth::oci::load_bundle(abs);
        berth::runtime::LaunchRequest req;
        req.id = id;
        req.bundle_dir = abs;
        req.spec = &spec;
        req.stdio = {0, 1, 2};
        req.cgroup_path = cgroup;
        req.seccomp_cache_dir = seccomp_cache;
        req.log_seccomp_compile = log_seccomp_compile;
        p = berth::runtime::launch(req);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "launch error: %s\n", e.what());
        return 125;
    }
    // Wait through the pidfd, as the supervisor does.
    pollfd pfd{p.pidfd, POLLIN, 0};
    while (poll(&pfd, 1, -1) < 0 && errno == EINTR) {
    }
    int status = 0;
    if (waitpid(p.pid, &status, 0) < 0) {
        std::perror("waitpid");
        return 125;
    }
    close(p.pidfd);
    if (WIFSIGNALED(status)) {
        std::printf("killed by signal %d\n", WTERMSIG(status));
        return 128 + WTERMSIG(status);
    }
    std::printf("exit status %d\n", WEXITSTATUS(status));
    return WEXITSTATUS(status);
}
