// The commands of berth-runc. Each takes the global context and the words
// after the command name, returns the process exit code, and throws
// berth::Error for anything that must be reported.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "runtime-cli/state.hpp"

namespace berth::runc {

struct Context {
    Store store;
    std::vector<std::string> argv;  // the whole command line
    size_t first = 0;               // index of the first word after the command name
};

int cmd_create(const Context& c);
int cmd_start(const Context& c);
int cmd_run(const Context& c);
int cmd_state(const Context& c);
int cmd_kill(const Context& c);
int cmd_delete(const Context& c);
int cmd_list(const Context& c);
int cmd_ps(const Context& c);
int cmd_pause(const Context& c);
int cmd_resume(const Context& c);
int cmd_exec(const Context& c);
int cmd_features(const Context& c);
int cmd_update(const Context& c);
int cmd_events(const Context& c);
int cmd_spec(const Context& c);

// update's sizes as runc takes them: "64m", "1g", "512k", "1024", "-1" (no
// limit); powers of 1024. Throws Error (EINVAL) for anything else.
std::int64_t parse_byte_size(const std::string& text);
// events --interval: "500ms", "5s", "1m", "1h" to milliseconds; UsageError otherwise.
int parse_interval_ms(const std::string& text);

// "TERM", "SIGTERM", "15" -> 15. Throws UsageError for anything else.
int parse_signal(const std::string& s);

}  // namespace berth::runc
