#include "supervisor/container.hpp"

#include <string.h>

#include <cstdlib>

#include "common/log.hpp"

namespace berth::supervisor {

const char* kind_name(Kind k) {
    switch (k) {
        case Kind::onboot: return "onboot";
        case Kind::service: return "services";
        case Kind::onshutdown: return "onshutdown";
    }
    return "?";
}

const char* state_name(State s) {
    switch (s) {
        case State::pending: return "pending";
        case State::starting: return "starting";
        case State::running: return "running";
        // Shown as running, as scripts and `berth exec` expect; the `ready`
        // field tells the two apart.
        case State::ready: return "running";
        case State::stopping: return "stopping";
        case State::backoff: return "backoff";
        case State::exited: return "exited";
        case State::failed: return "failed";
    }
    return "?";
}

std::string Container::describe_exit() const {
    if (state == State::failed && !error.empty()) return error;
    std::string why = fail_reason.empty() ? "" : fail_reason + ", ";
    if (exit_signal)
    {
        const char* abbrev = sigabbrev_np(exit_signal);
        return why + "killed by signal " + std::to_string(exit_signal) + " (SIG" + (abbrev ? abbrev : "?") + ")";
    }
    return why + "exit status " + std::to_string(exit_code);
}

bool catches_signal(pid_t pid, int sig) {
    auto status = fs::try_read_file("/proc/" + std::to_string(pid) + "/status");
    if (!status) return false;
    auto at = status->find("\nSigCgt:");
    if (at == std::string::npos) return false;
    unsigned long long mask = std::strtoull(status->c_str() + at + 8, nullptr, 16);
    return (mask >> (sig - 1)) & 1;
}

std::vector<Container> discover(const std::string& root, Kind kind, const std::string& cgroup_root) {
    std::vector<Container> out;
    std::string dir = fs::join(root, kind_name(kind));
    if (!fs::is_dir(dir)) return out;
    std::vector<std::string> names;
    try {
        names = fs::list_dir(dir);
    } catch (const std::exception& e) {
        log::error("{}", e.what());
        return out;
    }
    for (const auto& n : names) {
        std::string bundle = fs::join(dir, n);
        if (!fs::is_dir(bundle)) continue;
        Container c;
        c.kind = kind;
        c.name = n;
        c.bundle = bundle;
        if (!cgroup_root.empty()) c.cgroup = fs::join(fs::join(cgroup_root, kind_name(kind)), n);
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace berth::supervisor
