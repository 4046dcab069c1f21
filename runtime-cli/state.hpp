// The container state kept under --root: one directory per container with
// state.json, the exec FIFO while the container is `created`, and a lock.
// Status is never stored: it is derived from the process each time, so a
// crashed runtime or a reused pid cannot make it lie.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/fs.hpp"

namespace berth::runc {

enum class Status { creating, created, running, paused, stopped };
const char* status_name(Status s);

struct State {
    std::string id;
    pid_t pid = 0;
    std::uint64_t start_time = 0;  // /proc/PID/stat field 22, against pid reuse
    std::string bundle;
    std::string rootfs;
    std::string created;            // RFC 3339, UTC, nanoseconds
    std::string cgroup;             // path below each cgroup hierarchy's root ("/berth/id"), "" when none
    std::map<std::string, std::string> annotations;
    std::string owner;
};

struct ProcStat {
    char state;               // R, S, D, Z, ...
    std::uint64_t start_time; // clock ticks since boot
};
std::optional<ProcStat> proc_stat(pid_t pid);

// Start time of a live, non-zombie process, or nullopt when it is gone,
// a zombie, or unreadable.
std::optional<std::uint64_t> live_start_time(pid_t pid);

class Store {
public:
    explicit Store(std::string root) : root_(std::move(root)) {}
    const std::string& root() const { return root_; }
    std::string dir(const std::string& id) const { return fs::join(root_, id); }
    std::string fifo(const std::string& id) const { return fs::join(dir(id), "exec.fifo"); }
    // The bundle's config.json as create read it: start, exec and delete use
    // this copy, so that edits to the bundle after create change nothing.
    std::string spec_copy(const std::string& id) const { return fs::join(dir(id), "config.json"); }

    // Rejects ids that could escape the root or confuse a listing.
    static void check_id(const std::string& id);

    // mkdir root (0700) and root/id; Error "container `id` already exists".
    void create_dir(const std::string& id) const;
    // Exclusive flock on the container directory for the life of the Fd.
    fs::Fd lock(const std::string& id) const;
    // Error "container `id` does not exist" (ENOENT) when unknown.
    State load(const std::string& id) const;
    void save(const State& s) const;  // atomically (write + rename)
    void remove(const std::string& id) const;
    std::vector<std::string> ids() const;

    Status status(const State& s) const;

private:
    std::string root_;
};

std::string now_rfc3339();

}  // namespace berth::runc
