#include "runtime-cli/args.hpp"

#include <fmt/format.h>

#include "common/error.hpp"
#include "runtime-cli/state.hpp"

namespace berth::runc {

std::string Args::get(const std::string& name, const std::string& fallback) const {
    auto it = values.find(name);
    return it == values.end() || it->second.empty() ? fallback : it->second.back();
}

const std::vector<std::string>& Args::all(const std::string& name) const {
    static const std::vector<std::string> none;
    auto it = values.find(name);
    return it == values.end() ? none : it->second;
}

Args parse_args(const std::vector<std::string>& argv, size_t first, const std::vector<OptionSpec>& specs,
                bool stop_at_positional, const std::string& command) {
    const std::string prefix = command.empty() ? "" : command + ": ";
    Args out;
    bool options = true;
    for (size_t i = first; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        if (!options || a.size() < 2 || a[0] != '-') {
            out.positional.push_back(a);
            if (stop_at_positional) options = false;
            continue;
        }
        if (a == "--") {
            options = false;
            continue;
        }
        std::string name, value;
        bool inline_value = false;
        const OptionSpec* spec = nullptr;
        if (a[1] == '-' || a.size() > 2) {  // runc accepts -bundle as well as --bundle
            std::string body = a.substr(a[1] == '-' ? 2 : 1);
            if (auto eq = body.find('='); eq != std::string::npos) {
                value = body.substr(eq + 1);
                body = body.substr(0, eq);
                inline_value = true;
            }
            for (const auto& s : specs)
                if (body == s.long_name) spec = &s;
        } else {
            for (const auto& s : specs)
                if (s.short_name == a[1]) spec = &s;
        }
        if (!spec && (a == "--help" || a == "-h")) throw HelpRequested{};
        if (!spec) throw UsageError(fmt::format("{}unknown option `{}`", prefix, a));
        if (spec->takes_value && !inline_value) {
            if (i + 1 >= argv.size()) throw UsageError(fmt::format("{}option `{}` needs a value", prefix, a));
            value = argv[++i];
        }
        if (!spec->takes_value && inline_value && value != "true" && value != "false")
            throw UsageError(fmt::format("{}option `--{}` takes no value", prefix, spec->long_name));
        if (!spec->takes_value && inline_value && value == "false") {
            out.values.erase(spec->long_name);
            continue;
        }
        auto& v = out.values[spec->long_name];
        if (!spec->repeatable) v.clear();
        v.push_back(value);
    }
    return out;
}

void no_arguments(const Args& a, const std::string& command) {
    if (!a.positional.empty())
        throw UsageError(fmt::format("{}: takes no arguments, got `{}`", command, a.positional[0]));
}

std::string container_id_argument(const Args& a, const std::string& command, size_t optional,
                                  const char* optional_what) {
    if (a.positional.empty() || a.positional.size() > 1 + optional)
        throw UsageError(fmt::format("{}: expected a container id{}{}, got {} argument{}", command,
                                     optional ? " and " : "", optional ? optional_what : "", a.positional.size(),
                                     a.positional.size() == 1 ? "" : "s"));
    Store::check_id(a.positional[0]);
    return a.positional[0];
}

}  // namespace berth::runc
