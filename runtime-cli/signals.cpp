#include <signal.h>

#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

#include "common/error.hpp"
#include "runtime-cli/commands.hpp"

namespace berth::runc {
namespace {

struct SigName {
    std::string_view name;
    int sig;
};
constexpr SigName kSignals[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},     {"QUIT", SIGQUIT},   {"ILL", SIGILL},       {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT},   {"IOT", SIGIOT},     {"BUS", SIGBUS},     {"FPE", SIGFPE},       {"KILL", SIGKILL},
    {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},
    {"TERM", SIGTERM},   {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU},   {"URG", SIGURG},       {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},  {"WINCH", SIGWINCH},   {"IO", SIGIO},
    {"POLL", SIGPOLL},   {"PWR", SIGPWR},     {"SYS", SIGSYS}};

}  // namespace

int parse_signal(const std::string& s) {
    if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos) {
        long v = std::strtol(s.c_str(), nullptr, 10);
        if (v > 0 && v < NSIG) return int(v);
        throw Error(fmt::format("invalid signal `{}`: out of range 1..{}", s, NSIG - 1), EINVAL);
    }
    std::string_view n = s;
    if (n.substr(0, 3) == "SIG") n.remove_prefix(3);
    for (const auto& e : kSignals)
        if (e.name == n) return e.sig;
    // RTMIN, RTMIN+3, RTMAX-2 as the kill(1) of util-linux accepts them.
    auto rt = [&](std::string_view base, int value, int sign) -> int {
        if (n.substr(0, base.size()) != base) return -1;
        std::string_view rest = n.substr(base.size());
        if (rest.empty()) return value;
        if (rest[0] != (sign > 0 ? '+' : '-')) return -1;
        int off = std::atoi(std::string(rest.substr(1)).c_str());
        int v = value + sign * off;
        return v >= SIGRTMIN && v <= SIGRTMAX ? v : -1;
    };
    if (int v = rt("RTMIN", SIGRTMIN, 1); v > 0) return v;
    if (int v = rt("RTMAX", SIGRTMAX, -1); v > 0) return v;
    throw Error(fmt::format("unknown signal `{}`", s), EINVAL);
}

}  // namespace berth::runc
