#include "ctl/ctl.hpp"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/fs.hpp"
#include "config/service_policy.hpp"
#include "ctl/ctl_client.hpp"
#include "config/update_bundle.hpp"
#include "init/ab_slots.hpp"
#include "init/boot_log.hpp"
#include "init/sys_ops.hpp"
#include "supervisor/service_log.hpp"

namespace berth::ctl {

using json = nlohmann::json;

namespace {

// PID 1's log of the previous boot, read from the disk's log partition
// (init/boot_log.hpp): it needs no PID 1, so it works on a machine whose
// control socket is gone too.
int previous_boot_log() {
    init::RealSysOps sys;
    std::string dev = init::find_partition_by_name(sys, update::kBootLogPartName);
    if (dev.empty())
        return std::fprintf(stderr, "berth logs: no partition named %s (only raw-efi-ab disks keep PID 1's log)\n",
                            update::kBootLogPartName), 1;
    std::string err;
    auto log = init::read_previous_boot_log(dev, init::current_boot_id(sys), &err);
    if (!log) {
        if (err.empty()) return std::fprintf(stderr, "berth logs: %s holds no log of a previous boot\n", dev.c_str()), 1;
        return std::fprintf(stderr, "berth logs: %s\n", err.c_str()), 1;
    }
    std::printf("-- boot %s (log %llu) --\n", log->boot_id.c_str(), (unsigned long long)log->gen);
    std::fwrite(log->text.data(), 1, log->text.size(), stdout);
    return 0;
}

// The commands' synopses: all of them for `berth --help`, one after a usage error.
struct CommandUsage {
    const char* names;  // space-separated
    const char* synopsis;
};
const CommandUsage kCommands[] = {
    {"ps", "berth ps [--json]"},
    {"status", "berth status NAME [--json]"},
    {"logs", "berth logs NAME [-f] [-n LINES]\n"
             "       berth logs --previous-boot    (PID 1's log of the boot before this one; A/B disks)"},
    {"start stop restart", "berth start|stop|restart NAME"},
    {"kill", "berth kill [-s SIGNAL] NAME"},
    {"exec", "berth exec NAME CMD [ARG...]"},
    {"poweroff reboot halt", "berth poweroff|reboot|halt"},
    {"update", "berth update status | apply FILE [--no-reboot] [--allow-downgrade] | rollback [--no-reboot]"},
};

const CommandUsage* find_command(const std::string& cmd) {
    for (const auto& c : kCommands) {
        std::string names = std::string(" ") + c.names + " ";
        if (names.find(" " + cmd + " ") != std::string::npos) return &c;
    }
    return nullptr;
}

int usage(int code) {
    std::FILE* out = code ? stderr : stdout;
    std::fputs("usage: ", out);
    for (std::size_t i = 0; i < std::size(kCommands); ++i)
        std::fprintf(out, "%s%s\n", i ? "       " : "", kCommands[i].synopsis);
    std::fprintf(out,
                 "       berth --version\n"
                 "Options: --timeout SECONDS (or $BERTH_TIMEOUT; default %lld, 0: no limit) bounds\n"
                 "the wait for PID 1; `logs -f` waits for new lines without a limit.\n"
                 "The socket is $BERTH_CONTROL or %s (root only).\n",
                 control::kClientTimeoutMs / 1000, kControlSocket);
    return code;
}

// A usage error: what is wrong ("berth kill: unknown signal `BOGUS`"), then the
// command's synopsis; exit status 2.
int usage_error(const std::string& cmd, const std::string& message) {
    std::fprintf(stderr, "berth%s%s: %s\n", cmd.empty() ? "" : " ", cmd.c_str(), message.c_str());
    if (const CommandUsage* c = cmd.empty() ? nullptr : find_command(cmd))
        std::fprintf(stderr, "usage: %s\n", c->synopsis);
    else
        std::fputs("run `berth --help` for the commands\n", stderr);
    return 2;
}

std::string human_duration(long long ms) {
    if (ms < 60000) return fmt::format("{}s", ms / 1000);
    if (ms < 3600000) return fmt::format("{}m{}s", ms / 60000, ms / 1000 % 60);
    return fmt::format("{}h{}m", ms / 3600000, ms / 60000 % 60);
}

std::string human_bytes(long long b) {
    if (b < 0) return "-";
    if (b < 1 << 20) return fmt::format("{}K", b >> 10);
    return fmt::format("{:.1f}M", double(b) / (1 << 20));
}

void print_table(const json& list) {
    std::printf("%-24s %-10s %-9s %7s %8s %5s %-6s %8s %5s  %s\n", "NAME", "KIND", "STATE", "PID", "UPTIME",
                "RESTARTS", "READY", "MEMORY", "PIDS", "LAST EXIT");
    for (const auto& c : list) {
        long long mem = c.value("memory", -1LL), pids = c.value("pids", -1LL);
        std::printf("%-24s %-10s %-9s %7s %8s %8d %-6s %8s %5s  %s\n", c.value("name", "").c_str(),
                    c.value("kind", "").c_str(), c.value("state", "").c_str(),
                    c.value("pid", -1) > 0 ? std::to_string(c.value("pid", -1)).c_str() : "-",
                    c.value("pid", -1) > 0 ? human_duration(c.value("uptime_ms", 0LL)).c_str() : "-",
                    c.value("restarts", 0), c.value("ready", false) ? "yes" : "no", human_bytes(mem).c_str(),
                    pids >= 0 ? std::to_string(pids).c_str() : "-", c.value("last_exit", "").c_str());
    }
}

// One message of a logs reply; false at its end.
bool print_log_message(const json& m) {
    namespace reply = control::reply;
    if (m.value(reply::end, false)) return false;
    if (m.contains(reply::skipped))
        std::printf("(%llu lines dropped while reading: the ring moved on)\n", m.value(reply::skipped, 0ULL));
    else
        std::printf("%s %s\n", supervisor::format_wall(m.value(reply::time, 0LL)).c_str(),
                    m.value(reply::line, "").c_str());
    return true;
}

std::string dump(const json& j) { return j.dump(2, ' ', false, json::error_handler_t::replace); }

// A whole number of at most `max`, or -1.
long long parse_count(const char* s, long long max) {
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(s, &end, 10);
    return *s && !*end && errno == 0 && v >= 0 && v <= max ? v : -1;
}

// SECONDS, decimals allowed ("0.5"), as milliseconds; -1 when malformed.
long long parse_timeout(const char* s) {
    char* end = nullptr;
    errno = 0;
    long long whole = std::strtoll(s, &end, 10);
    if (end == s || errno || whole < 0 || whole > 86400 * 365) return -1;
    long long ms = whole * 1000;
    if (*end == '.') {
        long long scale = 100;
        for (++end; *end >= '0' && *end <= '9'; ++end, scale /= 10) ms += (*end - '0') * scale;
    }
    return *end ? -1 : ms;
}

}  // namespace

int ctl_main(int argc, char** argv) {
    const char* env = std::getenv("BERTH_CONTROL");
    std::string path = env && *env ? env : kControlSocket;
    long long timeout_ms = control::kClientTimeoutMs;
    if (const char* t = std::getenv("BERTH_TIMEOUT"); t && *t) {
        timeout_ms = parse_timeout(t);
        if (timeout_ms < 0) return usage_error("", fmt::format("BERTH_TIMEOUT `{}`: expected seconds", t));
    }
    // --timeout may come before the command too.
    while (argc >= 1 && std::string(argv[0]) == "--timeout") {
        if (argc < 2) return usage_error("", "--timeout needs a value (seconds)");
        timeout_ms = parse_timeout(argv[1]);
        if (timeout_ms < 0) return usage_error("", fmt::format("--timeout `{}`: expected seconds", argv[1]));
        argc -= 2, argv += 2;
    }
    if (argc < 1) return usage(2);
    std::string cmd = argv[0];
    if (cmd == "-h" || cmd == "--help" || cmd == "help") return usage(0);
    if (cmd == "--version" || cmd == "version") {
        std::printf("berth %s\n", BERTH_VERSION);
        return 0;
    }
    bool as_json = false, follow = false;
    long long lines = control::kDefaultLogLines;
    int sig = SIGTERM;
    std::vector<std::string> rest;
    if (cmd == "exec") {
        if (argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h"))
            return std::printf("usage: %s\n", find_command("exec")->synopsis), 0;
        if (argc < 3) return usage_error(cmd, argc < 2 ? "expected a container name and a command"
                                                       : "expected a command after the container name");
        return ctl_exec(path.c_str(), argc - 1, argv + 1);
    }
    if (cmd == "logs" && argc == 2 && std::string(argv[1]) == "--previous-boot") return previous_boot_log();
    if (cmd == "update") {
        // A/B images carry the update program; others take no updates.
        std::vector<char*> args = {const_cast<char*>(kUpdateProgram)};
        for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
        args.push_back(nullptr);
        ::setenv("BERTH_CONTROL", path.c_str(), 1);
        ::execv(kUpdateProgram, args.data());
        if (errno == ENOENT)
            return std::fprintf(stderr, "berth: update: this image takes no updates (no %s: build it as raw-efi-ab)\n",
                                kUpdateProgram), 1;
        return std::fprintf(stderr, "berth: update: exec %s: %s\n", kUpdateProgram, std::strerror(errno)), 1;
    }
    const CommandUsage* known = find_command(cmd);
    if (!known) return usage_error("", fmt::format("unknown command `{}`", cmd));
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        bool has_value = i + 1 < argc;
        if (a == "-h" || a == "--help") return std::printf("usage: %s\n", known->synopsis), 0;
        if (a == "--json") as_json = true;
        else if (a == "-f" || a == "--follow") follow = true;
        else if (a == "-n" || a == "--lines") {
            if (!has_value) return usage_error(cmd, a + " needs a value (a number of lines)");
            lines = parse_count(argv[++i], control::kMaxLogLines);
            if (lines < 0)
                return usage_error(cmd, fmt::format("{} `{}`: expected a number of lines up to {}", a, argv[i],
                                                    control::kMaxLogLines));
        } else if (a == "-s" || a == "--signal") {
            if (!has_value) return usage_error(cmd, a + " needs a value (a signal: TERM, SIGKILL, 9)");
            sig = config::parse_signal(json(std::string(argv[++i])));
            if (!sig) sig = config::parse_signal(json(std::atoi(argv[i])));
            if (!sig) return usage_error(cmd, fmt::format("unknown signal `{}`", argv[i]));
        } else if (a == "--timeout") {
            if (!has_value) return usage_error(cmd, "--timeout needs a value (seconds)");
            timeout_ms = parse_timeout(argv[++i]);
            if (timeout_ms < 0) return usage_error(cmd, fmt::format("--timeout `{}`: expected seconds", argv[i]));
        } else if (a.size() > 1 && a[0] == '-') {
            return usage_error(cmd, fmt::format("unknown option `{}`", a));
        } else rest.push_back(a);
    }
    namespace field = control::field;
    json req = {{field::cmd, cmd}};
    bool needs_name = cmd == "status" || cmd == "logs" || cmd == "start" || cmd == "stop" || cmd == "restart" ||
                      cmd == "kill";
    if (needs_name && rest.empty()) return usage_error(cmd, "expected a container name");
    if (rest.size() > (needs_name ? 1u : 0u)) {
        const std::string& extra = rest[needs_name ? 1 : 0];
        if (cmd == "kill")
            return usage_error(cmd, fmt::format("unexpected argument `{}` (the signal goes before the name: -s SIGNAL)",
                                                extra));
        return usage_error(cmd, needs_name ? fmt::format("unexpected argument `{}` after the name", extra)
                                           : fmt::format("takes no arguments, got `{}`", extra));
    }
    if (needs_name) req[field::name] = rest[0];
    if (cmd == "logs") req[field::lines] = lines, req[field::follow] = follow;
    if (cmd == "kill") req[field::signal] = sig;

    try {
        CtlConnection conn(path, timeout_ms);
        json reply = conn.request(req);
        if (!reply.value(control::reply::ok, false)) {
            std::fprintf(stderr, "berth %s: %s\n", cmd.c_str(), reply.value(control::reply::error, "failed").c_str());
            return 1;
        }
        if (cmd == "ps") {
            if (as_json) std::printf("%s\n", dump(reply[control::reply::containers]).c_str());
            else print_table(reply[control::reply::containers]);
        } else if (cmd == "status") {
            const json& c = reply[control::reply::container];
            if (as_json) std::printf("%s\n", dump(c).c_str());
            else for (auto& [k, v] : c.items())
                std::printf("%-12s %s\n", k.c_str(), v.is_string() ? v.get<std::string>().c_str() : dump(v).c_str());
        } else if (cmd == "logs") {
            if (reply.value(control::reply::dropped, 0) > 0)
                std::printf("(%llu older lines dropped)\n", reply.value(control::reply::dropped, 0ULL));
            // The lines follow the header. Without -f the reply ends with
            // {"end": true} and each message is due within the timeout; with
            // -f new lines may take any time, and only the connection closing
            // (PID 1 going away) ends it.
            while (print_log_message(conn.next(follow ? -1 : timeout_ms))) std::fflush(stdout);
            std::fflush(stdout);
        }
        return 0;
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "berth %s: %s\n", cmd.c_str(), e.what());
        return 1;
    }
}

}  // namespace berth::ctl
