#include "init/container_launcher.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "common/error.hpp"
#include "config/oci_spec.hpp"
#include "runtime/launcher.hpp"

namespace berth::init {

void RuntimeLauncher::start(supervisor::Container& c) {
    // A broken config.json fails this container only, with the file and field named.
    oci::Spec spec = oci::load_bundle(c.bundle);
    runtime::LaunchRequest req;
    req.id = c.name;
    req.bundle_dir = c.bundle;
    req.spec = &spec;
    // Output goes to the console until per-service log pipes exist.
    req.stdio.in = -1;
    req.stdio.out = 1;
    req.stdio.err = 2;
    req.cgroup_path = c.cgroup;
    runtime::Process p = runtime::launch(req);
    c.pid = p.pid;
    c.pid_ns_init = spec.linux_.creates_namespace(oci::NamespaceType::pid);
    c.pidfd.reset(p.pidfd);
}

}  // namespace berth::init
