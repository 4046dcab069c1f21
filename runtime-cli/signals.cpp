#include <signal.h>

#include <fmt/format.h>

#include "common/error.hpp"
#include "config/signals.hpp"
#include "runtime-cli/args.hpp"
#include "runtime-cli/commands.hpp"

namespace berth::runc {

int parse_signal(const std::string& s) {
    if (auto sig = config::signal_from_name(s)) return *sig;
    if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos)
        throw UsageError(fmt::format("invalid signal `{}`: out of range 1..{}", s, NSIG - 1));
    throw UsageError(fmt::format("unknown signal `{}`", s));
}

}  // namespace berth::runc
