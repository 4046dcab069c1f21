// Operations on an existing container shared by several commands.
#pragma once
#include <signal.h>

#include <memory>
#include <string>

#include "config/oci_spec.hpp"
#include "runtime/cgroup.hpp"
#include "runtime-cli/state.hpp"

namespace berth::runc {

// The spec saved by create in the state directory (see Store::spec_copy).
oci::Spec load_saved_spec(const Store& store, const State& st);

// A pidfd for the recorded process, or an empty Fd when it is gone or the pid
// now belongs to someone else.
fs::Fd open_pidfd(const State& st);

// The container's cgroup on this host; null when it has none.
std::unique_ptr<runtime::ContainerCgroup> cgroup_of(const State& st);

// process.terminal and --console-socket must come together, except in the
// foreground (`run`, `exec` without --detach), where berth-runc relays the
// terminal itself when no socket is given (console_relay.hpp), as runc does.
void check_terminal(const oci::Spec& spec, const std::string& console_socket, bool foreground = false);

// Sends sig to the container's process through a pidfd (checked against the
// recorded start time, so a reused pid is never hit); with `all`, to every
// process of its cgroup too. Error when the container is not running.
void signal_container(const Store& store, const State& st, int sig, bool all);

// The spec's poststart hooks, with status `running` (they run after the user
// process started). A failing one is a warning: the rest and the command go on.
// `spec`: the container's spec when the caller has it in memory (run), else it
// is read from the state directory.
void run_hooks_poststart(const Store& store, const State& st, const oci::Spec* spec = nullptr);

// Runs each hook in turn; a failure (exit status, timeout, exec error) is logged
// as a warning naming hooks.PHASE[i] and the next hook still runs, as the runtime
// spec asks for poststart and poststop.
void run_hooks_warning(const std::vector<oci::Hook>& hooks, const char* phase, const std::string& id,
                       const std::string& state_json);

// Waits for our child `pid`, forwarding INT, TERM, HUP, QUIT, USR1, USR2 and
// WINCH to it; returns its exit code (128+N when killed by signal N). The
// caller blocks those signals before creating the child.
int wait_forwarding(pid_t pid);
void block_forwarded_signals(sigset_t* old);
sigset_t forwarded_signals();

// SIGKILL whatever is left (bounded wait), remove the cgroup, run poststop
// hooks (each failure a warning, the rest still run, as the spec asks) and
// remove the state. `spec` as for run_hooks_poststart.
void destroy(const Store& store, const State& st, const oci::Spec* spec = nullptr);

}  // namespace berth::runc
