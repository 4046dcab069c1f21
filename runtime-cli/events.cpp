// events: the container's cgroup figures as runc prints them, one JSON object
// a line: {"type":"stats","id":ID,"data":{"cpu":…,"memory":…,"pids":…}}.
// --stats prints once; otherwise every --interval (default 5s) until the
// container's process exits.
#include <poll.h>

#include <cctype>
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "runtime-cli/args.hpp"
#include "runtime-cli/commands.hpp"
#include "runtime-cli/container_ops.hpp"
#include "runtime/cgroup.hpp"

namespace berth::runc {

nlohmann::json stats_json(const runtime::CgroupStats& s) {
    using json = nlohmann::json;
    json data = json::object();
    json usage = json::object();
    if (s.cpu_total_ns) usage["total"] = *s.cpu_total_ns;
    if (!s.cpu_percpu_ns.empty()) usage["percpu"] = s.cpu_percpu_ns;
    if (s.cpu_kernel_ns) usage["kernel"] = *s.cpu_kernel_ns;
    if (s.cpu_user_ns) usage["user"] = *s.cpu_user_ns;
    data["cpu"] = {{"usage", usage}, {"throttling", json::object()}};
    json mem = json::object();
    if (s.memory_usage) {
        json u = {{"usage", *s.memory_usage}};
        if (s.memory_limit) u["limit"] = *s.memory_limit;
        if (s.memory_max_usage) u["max"] = *s.memory_max_usage;
        if (s.memory_failcnt) u["failcnt"] = *s.memory_failcnt;
        mem["usage"] = u;
        mem["raw"] = s.memory_raw;
    }
    data["memory"] = mem;
    json pids = json::object();
    if (s.pids_current) pids["current"] = *s.pids_current;
    if (s.pids_limit) pids["limit"] = *s.pids_limit;
    data["pids"] = pids;
    return data;
}

int parse_interval_ms(const std::string& text) {
    // Go's duration forms runc takes: 500ms, 5s, 1m, 1h (and combinations are rare: one unit).
    std::size_t i = 0;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    const std::string unit = text.substr(i);
    double n = -1;
    try {
        if (i > 0) n = std::stod(text.substr(0, i));
    } catch (const std::exception&) {
    }
    double scale = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60000 : unit == "h" ? 3600000 : -1;
    if (n <= 0 || scale < 0 || n * scale < 1 || n * scale > 86400000)
        throw UsageError(fmt::format("--interval `{}`: expected a duration such as 500ms, 5s or 1m", text));
    return int(n * scale);
}

int cmd_events(const Context& c) {
    Args a = parse_args(c.argv, c.first, {{"stats", 0, false}, {"interval", 0, true}}, false, "events");
    const std::string id = container_id_argument(a, "events");
    const int interval = parse_interval_ms(a.get("interval", "5s"));
    State st = c.store.load(id);
    Status s = c.store.status(st);
    if (s != Status::created && s != Status::running && s != Status::paused)
        throw Error(fmt::format("container not running: `{}` is {}", id, status_name(s)), ESRCH);
    auto cgroup = cgroup_of(st);
    if (!cgroup) throw Error(fmt::format("container `{}` has no cgroup", id), ENOTSUP);
    auto emit = [&] {
        std::string line = nlohmann::json{{"type", "stats"}, {"id", id}, {"data", stats_json(cgroup->stats())}}.dump();
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fflush(stdout);
    };
    if (a.has("stats")) {
        emit();
        return 0;
    }
    fs::Fd process = open_pidfd(st);
    if (!process) throw Error(fmt::format("container not running: `{}` has ended", id), ESRCH);
    for (;;) {
        emit();
        // The pidfd turns readable when the process exits: then the stream ends.
        pollfd p{process.get(), POLLIN, 0};
        int r = ::poll(&p, 1, interval);
        if (r < 0 && errno != EINTR) throw_errno("wait for the container");
        if (r > 0) return 0;
    }
}

}  // namespace berth::runc
