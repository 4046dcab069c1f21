// The supervisor's Launcher backed by the OCI runtime: bundle -> process,
// without ever blocking PID 1.
//
// Each start forks a short-lived launch process. It does everything that can
// block or allocate a lot: it refuses a config.json over kConfigMaxBytes,
// parses it, applies runtime.json once per bundle, places the readiness fd,
// runs runtime::launch (hooks, clone, the child's setup report) and sends PID 1
// the container's pid and pidfd (SCM_RIGHTS) or the error text over a
// SOCK_SEQPACKET socket, then exits. PID 1 reads that report from its event
// loop; the supervisor bounds the wait with its setup deadline.
//
// The container becomes PID 1's child by reparenting: when the launch process
// exits, the kernel hands its child to PID 1 (init, and a child subreaper when
// berth-init runs under another init). This keeps the runtime's own error path
// unchanged (on a failed setup it kills and reaps the half-made child itself,
// which CLONE_PARENT would make impossible), and berth-runc shares that path.
// The container may exit, and be reaped by PID 1, before its report is read:
// the supervisor keeps the last unclaimed exits for that.
//
// A start can be prepared ahead (prepare): the launch process is forked and
// parses config.json while the container ahead of it in the boot order still
// runs, then waits for the go byte that start() sends. Nothing that depends
// on what earlier containers do (mounts, devices, the namespaces' copy of the
// host) happens before that byte.
#pragma once
#include <cstddef>
#include <map>
#include <set>
#include <string>

#include "config/oci_spec.hpp"
#include "supervisor/supervisor.hpp"

namespace berth::init {

// A config.json larger than this is refused before it is read: parsing costs
// tens of times the file's size in memory.
inline constexpr std::size_t kConfigMaxBytes = 1 << 20;

// Opens <bundle_dir>/config.json, refuses it when fstat shows more than
// max_bytes (the error names the file, its size and the limit), then parses it.
oci::Spec load_config_limited(const std::string& bundle_dir, std::size_t max_bytes);

struct LaunchDirs {
    std::string seccomp_cache;  // compiled seccomp programs, shared by launch processes
    std::string prepared;       // one marker per bundle whose runtime.json was applied
};

class ContainerDevices;

class RuntimeLauncher final : public supervisor::Launcher {
public:
    RuntimeLauncher(supervisor::EventLoop& loop, LaunchDirs dirs);
    // The devices containers declared by `match` (container_devices.hpp): the
    // ones present are added to a container's linux.devices at each launch, and
    // it is told when the container runs and when one of its helpers ends.
    void set_container_devices(ContainerDevices* devices) { devices_ = devices; }
    ~RuntimeLauncher() override;
    void start(supervisor::Container& c, Done done) override;
    void cancel(supervisor::Container& c) override;
    bool reaped(pid_t pid, int code, int status) override;
    // The launch process is forked and parses config.json now, then waits for
    // a go byte on its report socket before anything of the set-up that
    // depends on the host (runtime.json's mounts, the clone); start() sends it.
    // Closing the socket instead (discard) makes it exit without a trace.
    void prepare(supervisor::Container& c) override;
    void discard(supervisor::Container& c) override;
    size_t prepared() const { return prepared_.size(); }

private:
    struct Prepared {
        pid_t pid = -1;
        fs::Fd report;
    };
    Prepared fork_launch(supervisor::Container& c, bool wait_for_go);
    struct InFlight {
        pid_t pid;
        fs::Fd report;
        Done done;
        std::string name;
    };
    void on_report(const supervisor::Container* key);

    supervisor::EventLoop& loop_;
    LaunchDirs dirs_;
    ContainerDevices* devices_ = nullptr;
    std::map<const supervisor::Container*, InFlight> in_flight_;
    std::map<const supervisor::Container*, Prepared> prepared_;
    std::set<pid_t> launch_pids_;  // forked and not reaped yet: safe to signal
};

}  // namespace berth::init
