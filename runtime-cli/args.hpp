// A small runc-style command-line parser: options before the positional
// arguments, `--name value`, `--name=value`, `-n value`, boolean flags, and
// `--` to end the options (exec's command may start with a dash).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace berth::runc {

// A command line that is wrong (an unknown command or option, a missing value,
// a wrong number of arguments, a value of the wrong form): exit status 2, the
// command's usage after the message. Lifecycle errors stay berth::Error (status 1).
struct UsageError : Error {
    explicit UsageError(const std::string& message) : Error(message, EINVAL) {}
};

// `--help` or `-h` among a command's options: its usage on stdout, status 0.
struct HelpRequested {};

struct OptionSpec {
    const char* long_name;   // "bundle"
    char short_name;         // 'b' or 0
    bool takes_value;
    bool repeatable = false; // --env A --env B
};

struct Args {
    std::map<std::string, std::vector<std::string>> values;  // long name -> values ("" for flags)
    std::vector<std::string> positional;

    bool has(const std::string& name) const { return values.count(name) != 0; }
    std::string get(const std::string& name, const std::string& fallback = "") const;
    const std::vector<std::string>& all(const std::string& name) const;
};

// Parses argv[first..]; stops taking options at the first positional when
// stop_at_positional (exec: everything after the id is the command).
// Throws UsageError naming an unknown option or a missing value ("COMMAND: ...";
// no prefix when `command` is empty), HelpRequested for --help/-h.
Args parse_args(const std::vector<std::string>& argv, size_t first, const std::vector<OptionSpec>& specs,
                bool stop_at_positional, const std::string& command);

// The commands that take no arguments (list, features): UsageError for one.
void no_arguments(const Args& a, const std::string& command);

// The container id, the first argument (checked as a name under --root), for
// the commands that take it and at most `optional` more words, named by
// `optional_what` ("[SIGNAL]"): UsageError otherwise.
std::string container_id_argument(const Args& a, const std::string& command, size_t optional = 0,
                                  const char* optional_what = "");

}  // namespace berth::runc
