// berth-runc: berth's launcher behind the command line runc, crun and youki
// share, so container engines (podman, containerd, conmon) can drive it.
//   berth-runc [global options] COMMAND [options] ARGS
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <seccomp.h>

#include "common/error.hpp"
#include "common/log.hpp"
#include "common/utf8.hpp"
#include "runtime-cli/args.hpp"
#include "runtime-cli/commands.hpp"
#include "runtime-cli/state.hpp"

namespace {

using namespace berth::runc;

constexpr const char* kGlobalUsage = "berth-runc [--root DIR] [--log FILE] [--log-format text|json]";

// Each command's synopsis and what it does; `berth-runc --help` lists them all,
// `berth-runc COMMAND --help` prints one (with `more`), a usage error its synopsis.
struct CommandUsage {
    const char* name;
    const char* synopsis;
    const char* what;
    const char* more = "";
};
const CommandUsage kCommands[] = {
    {"create", "create [--bundle DIR] [--pid-file F] [--console-socket S] [--preserve-fds N] ID",
     "from the bundle (default: .); its process waits for `start`",
     "      --no-pivot and --no-new-keyring are accepted\n"},
    {"start", "start ID", "release a created container"},
    {"run", "run [--detach] [--keep] [create options] ID", "create and start; without --detach wait for its exit",
     "      --keep: keep the container's state after it exits\n"},
    {"state", "state ID", "print the runtime-spec state JSON"},
    {"kill", "kill [--all] ID [SIGNAL]", "default TERM; a name (TERM, SIGTERM) or a number"},
    {"delete", "delete [--force] ID", "remove a stopped container (--force: kill it first)"},
    {"list", "list [--format table|json] [--quiet]", "the containers under --root"},
    {"ps", "ps [--format table|json] ID", "the container's processes"},
    {"pause", "pause ID", "freeze every process of the container"},
    {"resume", "resume ID", "thaw every process of the container"},
    {"exec", "exec [--process F | options] ID [COMMAND...]", "run a process in the container",
     "      options: --tty, --console-socket S, --cwd DIR, --env K=V..., --user UID[:GID],\n"
     "      --additional-gids G..., --cap CAP..., --no-new-privs, --apparmor P,\n"
     "      --process-label L, --detach, --pid-file F, --preserve-fds N, --ignore-paused\n"},
    {"update", "update [--resources F | --memory N --pids-limit N --cpu-quota N ...] ID",
     "change the container's cgroup limits",
     "      --resources F (- for stdin): a linux.resources object; the flags override it:\n"
     "      --memory, --memory-reservation, --memory-swap (64m, 1g, -1), --pids-limit,\n"
     "      --cpu-quota, --cpu-period, --cpu-share, --cpu-rt-period, --cpu-rt-runtime,\n"
     "      --cpuset-cpus, --cpuset-mems, --blkio-weight\n"},
    {"events", "events [--stats] [--interval 5s] ID", "cgroup figures as JSON (once, or every interval)"},
    {"features", "features", "supported features as JSON"},
    {"spec", "spec [--bundle DIR]", "write a config.json to start from (a shell on a terminal in ./rootfs)"},
};

const CommandUsage* find_command(const std::string& name) {
    for (const auto& c : kCommands)
        if (name == c.name) return &c;
    return nullptr;
}

std::string usage() {
    std::string u = fmt::format("usage: {} COMMAND [options] ID\ncommands:\n", kGlobalUsage);
    for (const auto& c : kCommands) {
        std::string syn = c.synopsis;
        if (syn.size() < 27) u += fmt::format("  {:<28}{}\n", syn, c.what);
        else u += fmt::format("  {}\n  {:<28}{}\n", syn, "", c.what);
    }
    return u + "  --version\n";
}

// One command's usage: `COMMAND --help` (everything) or after a usage error (the synopsis).
std::string command_usage(const CommandUsage& c, bool whole) {
    std::string u = fmt::format("usage: berth-runc [global options] {}\n", c.synopsis);
    if (whole) u += fmt::format("      {}\n{}", c.what, c.more);
    return u;
}

const std::vector<OptionSpec> kGlobal = {
    {"root", 0, true},           {"log", 0, true},        {"log-format", 0, true}, {"debug", 0, false},
    {"systemd-cgroup", 0, false}, {"rootless", 0, true},  {"criu", 0, true},       {"version", 'v', false},
    {"help", 'h', false}};

struct Logger {
    std::string file, format = "text";

    // runc's log formats: conmon and podman read the last error from the file.
    void error(const std::string& whole) const {
        // The engine reads the log into a buffer of its own (podman's conmon: a
        // message of every device's problem under --privileged did not fit).
        constexpr std::size_t kMaxMessage = 2048;
        std::string msg = whole.size() <= kMaxMessage
                              ? whole
                              : whole.substr(0, berth::utf8::cut(whole, kMaxMessage)) +
                                    fmt::format(" [... {} bytes in all]", whole.size());
        std::fprintf(stderr, "berth-runc: %s\n", msg.c_str());
        if (file.empty()) return;
        std::string line = format == "json"
                               ? nlohmann::json({{"level", "error"}, {"msg", msg}, {"time", now_rfc3339()}})
                                     .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                               : fmt::format("time=\"{}\" level=error msg=\"{}\"", now_rfc3339(), msg);
        line += '\n';
        if (FILE* f = std::fopen(file.c_str(), "a")) {
            std::fwrite(line.data(), 1, line.size(), f);
            std::fclose(f);
        }
    }
};

int version() {
    const scmp_version* v = seccomp_version();
    std::printf("berth-runc version %s\nspec: 1.2.0\nlibseccomp: %u.%u.%u\n", BERTH_VERSION, v->major, v->minor,
                v->micro);
    return 0;
}

int dispatch(const std::string& cmd, const Context& c) {
    if (cmd == "create") return cmd_create(c);
    if (cmd == "start") return cmd_start(c);
    if (cmd == "run") return cmd_run(c);
    if (cmd == "state") return cmd_state(c);
    if (cmd == "kill") return cmd_kill(c);
    if (cmd == "delete") return cmd_delete(c);
    if (cmd == "list") return cmd_list(c);
    if (cmd == "ps") return cmd_ps(c);
    if (cmd == "pause") return cmd_pause(c);
    if (cmd == "resume") return cmd_resume(c);
    if (cmd == "exec") return cmd_exec(c);
    if (cmd == "features") return cmd_features(c);
    if (cmd == "update") return cmd_update(c);
    if (cmd == "events") return cmd_events(c);
    if (cmd == "spec") return cmd_spec(c);
    throw UsageError(fmt::format("unknown command `{}`", cmd));
}

}  // namespace

int main(int argc, char** argv) {
    berth::log::set_program("berth-runc");
    std::vector<std::string> args(argv, argv + argc);
    Logger log;
    const CommandUsage* command = nullptr;
    try {
        // Global options end at the first word that is not one of them.
        size_t i = 1;
        std::vector<std::string> global;
        while (i < args.size() && args[i].size() > 1 && args[i][0] == '-') {
            global.push_back(args[i]);
            std::string name = args[i].substr(args[i][1] == '-' ? 2 : 1);
            bool has_inline = name.find('=') != std::string::npos;
            bool takes_value = false;
            for (const auto& o : kGlobal)
                if (name == o.long_name) takes_value = o.takes_value;
            if (takes_value && !has_inline && i + 1 < args.size()) global.push_back(args[++i]);
            ++i;
        }
        global.insert(global.begin(), "berth-runc");
        Args g = parse_args(global, 1, kGlobal, false, "");
        log.file = g.get("log");
        log.format = g.get("log-format", "text");
        if (log.format != "text" && log.format != "json") {
            std::string bad = log.format;
            log.format = "text";
            throw UsageError(fmt::format("--log-format `{}`: expected text or json", bad));
        }
        if (g.has("version")) return version();
        if (g.has("help") || (i < args.size() && args[i] == "help")) {
            std::fputs(usage().c_str(), stdout);
            return 0;
        }
        if (g.has("systemd-cgroup"))
            throw berth::Error("--systemd-cgroup is not supported: berth manages cgroupfs paths itself "
                               "(run the engine with its cgroupfs manager, e.g. podman --cgroup-manager cgroupfs)",
                               ENOTSUP);
        if (g.has("rootless") && g.get("rootless") != "false")
            throw berth::Error("--rootless: berth-runc runs containers as root only", ENOTSUP);
        if (i >= args.size()) {
            std::fputs(usage().c_str(), stderr);
            return 2;
        }
        command = find_command(args[i]);
        Context c{Store(g.get("root", "/run/berth-runc")), args, i + 1};
        return dispatch(args[i], c);
    } catch (const HelpRequested&) {
        if (command) std::fputs(command_usage(*command, true).c_str(), stdout);
        else std::fputs(usage().c_str(), stdout);
        return 0;
    } catch (const UsageError& e) {
        log.error(e.what());
        std::fputs(command ? command_usage(*command, false).c_str() : "run `berth-runc --help` for the commands\n",
                   stderr);
        return 2;
    } catch (const std::exception& e) {
        log.error(e.what());
        return 1;
    }
}
