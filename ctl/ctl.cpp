#include "ctl/ctl.hpp"

#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/fs.hpp"
#include "config/service_policy.hpp"
#include "ctl/ctl_client.hpp"
#include "supervisor/service_log.hpp"

namespace berth::ctl {

using json = nlohmann::json;

namespace {

int usage(int code) {
    std::fprintf(code ? stderr : stdout,
                 "usage: berth ps [--json]\n"
                 "       berth status NAME [--json]\n"
                 "       berth logs NAME [-f] [-n LINES]\n"
                 "       berth start|stop|restart NAME\n"
                 "       berth kill [-s SIGNAL] NAME\n"
                 "       berth exec NAME CMD [ARG...]\n"
                 "       berth poweroff|reboot|halt\n"
                 "The socket is $BERTH_CONTROL or %s (root only).\n",
                 kControlSocket);
    return code;
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

void print_line(const json& l) {
    std::printf("%s %s\n", supervisor::format_wall(l.value("t", 0LL)).c_str(), l.value("line", "").c_str());
}

}  // namespace

int ctl_main(int argc, char** argv) {
    const char* env = std::getenv("BERTH_CONTROL");
    std::string path = env && *env ? env : kControlSocket;
    if (argc < 1) return usage(2);
    std::string cmd = argv[0];
    if (cmd == "-h" || cmd == "--help" || cmd == "help") return usage(0);
    bool as_json = false, follow = false;
    int lines = 100, sig = SIGTERM;
    std::vector<std::string> rest;
    if (cmd == "exec") return ctl_exec(path.c_str(), argc - 1, argv + 1);
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--json") as_json = true;
        else if (a == "-f" || a == "--follow") follow = true;
        else if ((a == "-n" || a == "--lines") && i + 1 < argc) lines = std::atoi(argv[++i]);
        else if ((a == "-s" || a == "--signal") && i + 1 < argc) {
            sig = config::parse_signal(json(std::string(argv[++i])));
            if (!sig) sig = config::parse_signal(json(std::atoi(argv[i])));
            if (!sig) return std::fprintf(stderr, "berth: unknown signal %s\n", argv[i]), 2;
        } else rest.push_back(a);
    }
    json req = {{"cmd", cmd}};
    bool needs_name = cmd == "status" || cmd == "logs" || cmd == "start" || cmd == "stop" || cmd == "restart" ||
                      cmd == "kill";
    bool no_name = cmd == "ps" || cmd == "poweroff" || cmd == "reboot" || cmd == "halt";
    if (!needs_name && !no_name) return std::fprintf(stderr, "berth: unknown command %s\n", cmd.c_str()), usage(2);
    if (rest.size() != (needs_name ? 1u : 0u)) return usage(2);
    if (needs_name) req["name"] = rest[0];
    if (cmd == "logs") req["lines"] = lines, req["follow"] = follow;
    if (cmd == "kill") req["signal"] = sig;

    try {
        CtlConnection conn(path);
        json reply = conn.request(req);
        if (!reply.value("ok", false)) {
            std::fprintf(stderr, "berth %s: %s\n", cmd.c_str(), reply.value("error", "failed").c_str());
            return 1;
        }
        if (cmd == "ps") {
            if (as_json) std::printf("%s\n", reply["containers"].dump(2).c_str());
            else print_table(reply["containers"]);
        } else if (cmd == "status") {
            if (as_json) std::printf("%s\n", reply["container"].dump(2).c_str());
            else for (auto& [k, v] : reply["container"].items())
                std::printf("%-12s %s\n", k.c_str(), v.is_string() ? v.get<std::string>().c_str() : v.dump().c_str());
        } else if (cmd == "logs") {
            if (reply.value("dropped", 0) > 0) std::printf("(%llu older lines dropped)\n", reply.value("dropped", 0ULL));
            for (const auto& l : reply["lines"]) print_line(l);
            std::fflush(stdout);
            while (follow) {
                json l = conn.next();
                if (l.is_null()) break;
                print_line(l);
                std::fflush(stdout);
            }
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "berth %s: %s\n", cmd.c_str(), e.what());
        return 1;
    }
}

}  // namespace berth::ctl
