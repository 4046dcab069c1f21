// exec: one more process in a running container. It joins every namespace of
// the container's process and its cgroup (runtime/exec_spec, shared with
// `berth exec`), then goes through the same launcher as the container itself
// (user, capabilities, rlimits, no_new_privs, seccomp), so an exec'd process
// is never more privileged than the spec says.
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "config/oci_names.hpp"
#include "runtime-cli/args.hpp"
#include "runtime-cli/commands.hpp"
#include "runtime-cli/console_relay.hpp"
#include "runtime-cli/container_ops.hpp"
#include "runtime/exec_spec.hpp"
#include "runtime/launcher.hpp"

namespace berth::runc {
namespace {

const std::vector<OptionSpec> kExecOptions = {
    {"process", 'p', true},       {"tty", 't', false},         {"console-socket", 0, true},
    {"cwd", 0, true},             {"env", 'e', true, true},    {"user", 'u', true},
    {"additional-gids", 'g', true, true}, {"cap", 'c', true, true}, {"no-new-privs", 0, false},
    {"detach", 'd', false},       {"pid-file", 0, true},       {"preserve-fds", 0, true},
    {"process-label", 0, true},   {"apparmor", 0, true},       {"ignore-paused", 0, false}};

std::uint32_t parse_id(const std::string& s, const char* what) {
    char* end = nullptr;
    unsigned long v = std::strtoul(s.c_str(), &end, 10);
    if (s.empty() || *end || v > 0xffffffffUL) throw UsageError(fmt::format("--{} `{}`: not a number", what, s));
    return std::uint32_t(v);
}

// The process to run: --process FILE, or the container's process with the
// command line's overrides.
oci::Process exec_process_spec(const Args& a, const oci::Spec& spec, std::vector<std::string> cmd) {
    if (a.has("process")) {
        const std::string file = a.get("process");
        nlohmann::json j = nlohmann::json::parse(fs::read_file(file), nullptr, false);
        if (j.is_discarded()) throw Error(fmt::format("--process `{}`: invalid JSON", file), EINVAL);
        oci::Process p = oci::parse_process(j, file);
        // crun's rule: without its own execCPUAffinity the container's applies.
        if (!p.exec_cpu_affinity) p.exec_cpu_affinity = spec.process.exec_cpu_affinity;
        return p;
    }
    if (cmd.empty()) throw UsageError("exec: expected a command after the container id (or --process FILE)");
    oci::Process p = spec.process;
    p.args = std::move(cmd);
    p.terminal = a.has("tty");
    p.console_size.reset();
    for (const auto& e : a.all("env")) p.env.push_back(e);
    if (a.has("cwd")) p.cwd = a.get("cwd");
    if (a.has("user")) {
        std::string u = a.get("user");
        auto colon = u.find(':');
        p.user.username.clear();
        p.user.uid = parse_id(u.substr(0, colon), "user");
        p.user.gid = colon == std::string::npos ? 0 : parse_id(u.substr(colon + 1), "user");
    }
    for (const auto& g : a.all("additional-gids")) p.user.additional_gids.push_back(parse_id(g, "additional-gids"));
    if (a.has("no-new-privs")) p.no_new_privileges = true;
    if (a.has("apparmor")) p.apparmor_profile = a.get("apparmor");
    if (a.has("process-label")) p.selinux_label = a.get("process-label");
    if (!a.all("cap").empty()) {
        if (!p.capabilities) p.capabilities.emplace();
        for (const auto& name : a.all("cap")) {
            auto cap = oci::capability_from_name(name);
            if (!cap) throw UsageError(fmt::format("--cap `{}`: unknown capability", name));
            for (auto* set : {&p.capabilities->bounding, &p.capabilities->effective, &p.capabilities->permitted})
                set->push_back(*cap);
        }
    }
    return p;
}

}  // namespace

int cmd_exec(const Context& c) {
    Args a = parse_args(c.argv, c.first, kExecOptions, true, "exec");
    if (a.positional.empty()) throw UsageError("exec: expected a container id");
    const std::string id = a.positional[0];
    Store::check_id(id);

    State st = c.store.load(id);
    Status s = c.store.status(st);
    if (s != Status::running && s != Status::created)
        throw Error(fmt::format("cannot exec in container `{}`: it is {}", id, status_name(s)), EINVAL);

    const oci::Spec base = load_saved_spec(c.store, st);
    // Join, never create: everything about the container already exists.
    oci::Spec ex = runtime::exec_spec(base, exec_process_spec(a, base, {a.positional.begin() + 1, a.positional.end()}),
                                      st.pid);
    const bool foreground = !a.has("detach");
    check_terminal(ex, a.get("console-socket"), foreground);

    runtime::LaunchRequest req;
    req.id = id;
    req.bundle_dir = st.bundle;
    req.spec = &ex;
    req.exec = true;
    req.stdio = {0, 1, 2};
    auto cgroup = cgroup_of(st);
    req.cgroup = cgroup.get();
    req.seccomp_cache_dir = fs::join(c.store.root(), ".seccomp-cache");
    req.console_socket = a.get("console-socket");
    std::unique_ptr<ConsoleRelay> relay;
    if (foreground && ex.process.terminal && req.console_socket.empty()) {
        relay = std::make_unique<ConsoleRelay>(c.store.root());
        req.console_socket = relay->path();
    }
    req.preserve_fds = int(parse_id(a.get("preserve-fds", "0"), "preserve-fds"));

    sigset_t old;
    if (!a.has("detach")) block_forwarded_signals(&old);
    runtime::Process p = runtime::launch(req);
    ::close(p.pidfd);
    if (a.has("pid-file")) {
        std::string tmp = a.get("pid-file") + ".tmp";
        fs::write_file(tmp, std::to_string(p.pid), 0644);
        if (::rename(tmp.c_str(), a.get("pid-file").c_str()) < 0) throw_errno("pid file `" + a.get("pid-file") + "`");
    }
    if (a.has("detach")) return 0;
    int code = relay ? relay->relay(p.pid, forwarded_signals()) : wait_forwarding(p.pid);
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    return code;
}

}  // namespace berth::runc
