#include "init/container_launcher.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "common/error.hpp"
#include "config/oci_spec.hpp"
#include "init/bundle_prepare.hpp"
#include "runtime/launcher.hpp"

namespace berth::init {

namespace {

// Places the readiness pipe at fd N for the duration of one launch (the
// runtime passes fds 3..N on), with /dev/null on 3..N-1 so nothing of PID 1
// leaks; PID 1's own descriptors there are set aside and put back after.
class FdPlacement {
public:
    FdPlacement(int fd_number, int source) {
        fs::Fd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
        if (!devnull) throw_errno("open /dev/null");
        for (int i = 3; i <= fd_number; ++i) {
            int saved = ::fcntl(i, F_DUPFD_CLOEXEC, 1024);
            saved_.push_back(saved);  // -1: nothing was open there
            if (::dup3(i == fd_number ? source : devnull.get(), i, O_CLOEXEC) < 0) {
                int err = errno;
                restore();
                throw_errno("place the readiness fd at " + std::to_string(fd_number), err);
            }
        }
    }
    ~FdPlacement() { restore(); }

private:
    void restore() {
        for (size_t k = 0; k < saved_.size(); ++k) {
            int i = int(k) + 3;
            if (saved_[k] >= 0) {
                ::dup3(saved_[k], i, O_CLOEXEC);
                ::close(saved_[k]);
            } else {
                ::close(i);
            }
        }
        saved_.clear();
    }
    std::vector<int> saved_;
};

}  // namespace

void RuntimeLauncher::start(supervisor::Container& c) {
    // A broken config.json fails this container only, with the file and field named.
    oci::Spec spec = oci::load_bundle(c.bundle);
    // runtime.json's mounts (the overlay of a writable container...) come first.
    prepare_bundle_once(c.bundle);
    runtime::LaunchRequest req;
    req.id = c.name;
    req.bundle_dir = c.bundle;
    req.spec = &spec;
    // stdout and stderr share the pipe PID 1 keeps across restarts.
    req.stdio.in = -1;
    req.stdio.out = c.log ? c.log->write_fd() : 1;
    req.stdio.err = req.stdio.out;
    req.cgroup_path = c.cgroup;
    if (!c.notify_socket.empty()) {
        // The socket's directory is bound at the same path inside the container.
        std::string dir = c.notify_socket.substr(0, c.notify_socket.rfind('/'));
        if (spec.linux_.creates_namespace(oci::NamespaceType::mount) ||
            spec.linux_.find_namespace(oci::NamespaceType::mount)) {
            oci::Mount bind;
            bind.destination = bind.source = dir;
            bind.type = "bind";
            bind.options = {"rbind", "nosuid", "nodev", "noexec"};
            spec.mounts.push_back(std::move(bind));
        }
        spec.process.env.push_back("NOTIFY_SOCKET=" + c.notify_socket);
        if (c.policy.watchdog_ms > 0)
            spec.process.env.push_back("WATCHDOG_USEC=" + std::to_string(c.policy.watchdog_ms * 1000));
    }
    std::unique_ptr<FdPlacement> placed;
    if (c.notify_w) {
        placed = std::make_unique<FdPlacement>(c.policy.readiness_fd, c.notify_w.get());
        req.preserve_fds = c.policy.readiness_fd - 2;
    }
    runtime::Process p = runtime::launch(req);
    c.pid = p.pid;
    c.pid_ns_init = spec.linux_.creates_namespace(oci::NamespaceType::pid);
    c.pidfd.reset(p.pidfd);
}

}  // namespace berth::init
