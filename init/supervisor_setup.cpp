#include "init/supervisor_setup.hpp"

#include <sys/epoll.h>
#include <sys/stat.h>

#include <cstring>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "init/cgroup_setup.hpp"

namespace berth::init {

int make_directories(SysOps& sys, const std::string& path, mode_t mode, std::string* failed_at) {
    for (std::size_t end = path.find('/', 1);; end = path.find('/', end + 1)) {
        std::string prefix = path.substr(0, end);
        if (!prefix.empty() && prefix != "/")
            if (int err = sys.mkdir(prefix, mode); err != 0) {
                if (failed_at) *failed_at = prefix;
                return err;
            }
        if (end == std::string::npos) return 0;
    }
}

std::string prepare_cgroups(SysOps& sys, bool have_cgroup2) {
    if (!have_cgroup2) return {};
    const std::string root = "/sys/fs/cgroup/berth";
    for (const char* sub : {"", "/onboot", "/services", "/onshutdown"}) {
        std::string failed;
        if (int err = make_directories(sys, root + sub, 0755, &failed); err != 0) {
            log::error("cgroups: mkdir {}: {}; containers run without their own cgroup", failed, std::strerror(-err));
            return {};
        }
        enable_cgroup_controllers(sys, root + sub);
    }
    return root;
}

SupervisorDirs prepare_runtime_dirs(SysOps& sys) {
    SupervisorDirs dirs;
    std::string failed;
    if (int err = make_directories(sys, "/run/berth/notify", 0755, &failed); err != 0)
        log::error("mkdir {}: {}; services cannot report readiness with NOTIFY_SOCKET", failed, std::strerror(-err));
    else
        dirs.notify = true;
    // The CLI is this binary: `berth` on a PATH that includes /run/berth/bin.
    if (int err = make_directories(sys, "/run/berth/bin", 0755, &failed); err != 0)
        log::error("mkdir {}: {}; no `berth` command on the PATH", failed, std::strerror(-err));
    else if (int link = sys.symlink("/init", "/run/berth/bin/berth"); link != 0)
        log::error("symlink /run/berth/bin/berth: {}; no `berth` command on the PATH", std::strerror(-link));
    else
        dirs.cli_link = true;
    return dirs;
}

void prepare_process(SysOps& sys) {
    if (int err = sys.set_nonblocking(1); err != 0)
        log::warn("console (fd 1) left blocking: {}; a slow console can delay PID 1", std::strerror(-err));
    if (int err = sys.set_child_subreaper(); err != 0)
        log::warn("PR_SET_CHILD_SUBREAPER: {}; orphaned container processes go to the outer init",
                  std::strerror(-err));
}

namespace {
bool same_file(int a, int b) {
    struct stat sa {}, sb{};
    return ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}
}  // namespace

ConsoleOutput& pid1_console() {
    static ConsoleOutput console(1);
    static bool logs_through_it = [] {
        if (!same_file(1, 2)) return false;
        log::set_console(&console);
        return true;
    }();
    (void)logs_through_it;
    return console;
}

ConsoleWatch::ConsoleWatch(supervisor::EventLoop& loop, ConsoleOutput& console) : loop_(loop), console_(console) {
    console_.on_backlog([this](bool backlog) { set(backlog); });
    set(console_.pending());
}

ConsoleWatch::~ConsoleWatch() {
    console_.on_backlog(nullptr);
    set(false);
}

void ConsoleWatch::set(bool watched) {
    if (watched == watched_) return;
    // No logging here: a log line would come back through the console.
    try {
        if (watched)
            loop_.watch(console_.fd(), EPOLLOUT, [this](std::uint32_t) { console_.flush(); });
        else
            loop_.unwatch(console_.fd());
        watched_ = watched;
    } catch (const std::exception&) {
        // epoll refuses the fd (a regular file, which never fills): the queue
        // still goes out with the next line written.
    }
}

}  // namespace berth::init
