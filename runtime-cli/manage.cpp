// state, kill, delete, list, pause, resume, ps: commands on containers that already exist.
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "runtime-cli/args.hpp"
#include "runtime-cli/commands.hpp"
#include "runtime-cli/container_ops.hpp"

namespace berth::runc {
namespace {

nlohmann::json state_doc(const Store& store, const State& st) {
    Status s = store.status(st);
    nlohmann::json j = {{"ociVersion", "1.2.0"},
                        {"id", st.id},
                        {"status", status_name(s)},
                        {"pid", s == Status::stopped ? 0 : st.pid},
                        {"bundle", st.bundle},
                        {"rootfs", st.rootfs},
                        {"created", st.created},
                        {"owner", st.owner}};
    if (!st.annotations.empty()) j["annotations"] = st.annotations;
    return j;
}

void print(const std::string& s) {
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
}

}  // namespace

int cmd_state(const Context& c) {
    Args a = parse_args(c.argv, c.first, {}, false, "state");
    State st = c.store.load(container_id_argument(a, "state"));
    print(state_doc(c.store, st).dump(2) + "\n");
    return 0;
}

int cmd_kill(const Context& c) {
    Args a = parse_args(c.argv, c.first, {{"all", 'a', false}}, false, "kill");
    const std::string id = container_id_argument(a, "kill", 1, "perhaps a signal");
    int sig = parse_signal(a.positional.size() > 1 ? a.positional[1] : "TERM");
    signal_container(c.store, c.store.load(id), sig, a.has("all"));
    return 0;
}

int cmd_delete(const Context& c) {
    Args a = parse_args(c.argv, c.first, {{"force", 'f', false}}, false, "delete");
    const std::string id = container_id_argument(a, "delete");
    fs::Fd lock;
    State st;
    try {
        lock = c.store.lock(id);
        st = c.store.load(id);
    } catch (const Error& e) {
        // runc and crun: a forced delete of a container that is not there is
        // done (podman's cleanup and `podman rm` may both ask for it).
        if (a.has("force") && e.code() == ENOENT) return 0;
        throw;
    }
    Status s = c.store.status(st);
    // A created container never ran: delete ends it without --force, as runc does.
    if ((s == Status::running || s == Status::paused) && !a.has("force"))
        throw Error(fmt::format("cannot delete container `{}`: it is {} (stop it first or use --force)", id,
                                status_name(s)), EBUSY);
    destroy(c.store, st);
    return 0;
}

namespace {
// pause and resume: freeze or thaw the container's cgroup.
int set_paused(const Context& c, const char* command, bool pause) {
    Args a = parse_args(c.argv, c.first, {}, false, command);
    const std::string id = container_id_argument(a, command);
    fs::Fd lock = c.store.lock(id);
    State st = c.store.load(id);
    Status s = c.store.status(st);
    Status want = pause ? Status::running : Status::paused;
    if (s != want)
        throw Error(fmt::format("cannot {} container `{}`: it is {}, not {}", command, id, status_name(s),
                                status_name(want)), EINVAL);
    auto cg = cgroup_of(st);
    if (!cg) throw Error(fmt::format("cannot {} container `{}`: it has no cgroup", command, id), ENOTSUP);
    cg->set_frozen(pause);
    return 0;
}
}  // namespace

int cmd_pause(const Context& c) { return set_paused(c, "pause", true); }
int cmd_resume(const Context& c) { return set_paused(c, "resume", false); }

int cmd_list(const Context& c) {
    Args a = parse_args(c.argv, c.first, {{"format", 'f', true}, {"quiet", 'q', false}}, false, "list");
    no_arguments(a, "list");
    const std::string format = a.get("format", "table");
    if (format != "table" && format != "json")
        throw UsageError(fmt::format("list: unknown format `{}` (table or json)", format));
    std::vector<State> all;
    for (const auto& id : c.store.ids()) {
        try {
            all.push_back(c.store.load(id));
        } catch (const Error&) {
            // Removed while we listed, or not one of ours.
        }
    }
    if (a.has("quiet")) {
        for (const auto& st : all) print(st.id + "\n");
        return 0;
    }
    if (format == "json") {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& st : all) arr.push_back(state_doc(c.store, st));
        print(arr.dump() + "\n");
        return 0;
    }
    std::string out = fmt::format("{:<20} {:<8} {:<10} {:<40} {:<32} {}\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
                                  "OWNER");
    for (const auto& st : all) {
        Status s = c.store.status(st);
        out += fmt::format("{:<20} {:<8} {:<10} {:<40} {:<32} {}\n", st.id, s == Status::stopped ? 0 : st.pid,
                           status_name(s), st.bundle, st.created, st.owner);
    }
    print(out);
    return 0;
}

// runc's `ps`: containerd's shim asks `ps --format json ID` for the pids of a
// task (ctr task ps); the table form names each process. Any words after the id
// are runc's options for the host's ps(1), which berth does not run: refused.
int cmd_ps(const Context& c) {
    Args a = parse_args(c.argv, c.first, {{"format", 'f', true}}, true, "ps");
    const std::string format = a.get("format", "table");
    if (format != "table" && format != "json")
        throw UsageError(fmt::format("ps: unknown format `{}` (table or json)", format));
    State st = c.store.load(container_id_argument(a, "ps"));  // no ps(1) options
    std::vector<pid_t> pids;
    if (auto cg = cgroup_of(st)) pids = cg->pids();
    // Without a cgroup of its own the container still has its init process.
    if (pids.empty() && c.store.status(st) != Status::stopped && st.pid > 0) pids.push_back(st.pid);
    std::sort(pids.begin(), pids.end());
    if (format == "json") {
        print(nlohmann::json(pids).dump() + "\n");
        return 0;
    }
    std::string out = fmt::format("{:<8} {}\n", "PID", "CMD");
    for (pid_t p : pids) {
        std::string comm = fs::try_read_file(fmt::format("/proc/{}/comm", p)).value_or("?\n");
        out += fmt::format("{:<8} {}", p, comm);
    }
    print(out);
    return 0;
}

}  // namespace berth::runc
