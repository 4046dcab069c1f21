#include "config/signals.hpp"

#include <signal.h>

#include <charconv>

namespace berth::config {
namespace {

struct SigName {
    std::string_view name;
    int sig;
};
// The first name of a number is the one signal_name() shows.
constexpr SigName kSignals[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},     {"QUIT", SIGQUIT},   {"ILL", SIGILL},       {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT},   {"IOT", SIGIOT},     {"BUS", SIGBUS},     {"FPE", SIGFPE},       {"KILL", SIGKILL},
    {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},
    {"TERM", SIGTERM},   {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU},   {"URG", SIGURG},       {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},  {"WINCH", SIGWINCH},   {"IO", SIGIO},
    {"POLL", SIGPOLL},   {"PWR", SIGPWR},     {"SYS", SIGSYS}};

std::optional<int> number(std::string_view s) {
    int v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

}  // namespace

std::optional<int> signal_from_name(std::string_view n) {
    if (!n.empty() && n.find_first_not_of("0123456789") == std::string_view::npos) {
        auto v = number(n);
        if (v && *v > 0 && *v < NSIG) return v;
        return std::nullopt;
    }
    if (n.substr(0, 3) == "SIG") n.remove_prefix(3);
    for (const auto& e : kSignals)
        if (e.name == n) return e.sig;
    // RTMIN, RTMIN+3, RTMAX-2 as the kill(1) of util-linux accepts them.
    auto rt = [&](std::string_view base, int value, int sign) -> std::optional<int> {
        if (n.substr(0, base.size()) != base) return std::nullopt;
        std::string_view rest = n.substr(base.size());
        if (rest.empty()) return value;
        if (rest[0] != (sign > 0 ? '+' : '-')) return std::nullopt;
        auto off = number(rest.substr(1));
        if (!off) return std::nullopt;
        int v = value + sign * *off;
        if (v < SIGRTMIN || v > SIGRTMAX) return std::nullopt;
        return v;
    };
    if (auto v = rt("RTMIN", SIGRTMIN, 1)) return v;
    return rt("RTMAX", SIGRTMAX, -1);
}

std::string signal_name(int sig) {
    for (const auto& e : kSignals)
        if (e.sig == sig) return "SIG" + std::string(e.name);
    if (sig >= SIGRTMIN && sig <= SIGRTMAX)
        return sig == SIGRTMIN ? "SIGRTMIN" : "SIGRTMIN+" + std::to_string(sig - SIGRTMIN);
    return {};
}

}  // namespace berth::config
