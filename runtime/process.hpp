// The process side of the child: signals, file descriptors, environment and
// the final execve with a PATH search inside the container.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "runtime/launcher.hpp"

namespace berth::runtime {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// PID 1 blocks every signal (it reads them from a signalfd): the container
// must start with an empty mask and default dispositions.
void reset_signals();

// Makes stdio the process's 0, 1, 2 (-1: devnull), keeps fds 3..3+preserve-1
// (the engine's LISTEN_FDS-style extra fds) and the CLOEXEC fds in `keep`
// (report socket, exec FIFO), and closes every other fd.
void setup_stdio(const StdioFds& stdio, int devnull, std::vector<int> keep, int preserve = 0);

// Value of NAME in a NAME=value list.
std::optional<std::string> env_get(const std::vector<std::string>& env, const std::string& name);

// The spec's env plus HOME when it is not set.
std::vector<std::string> build_env(const std::vector<std::string>& env, const std::string& home);

// The paths execvpe(3) would try for `file` given $PATH (empty PATH entries
// mean the current directory). A file with a '/' is tried as is.
std::vector<std::string> exec_candidates(const std::string& file, const std::string& path_var);

// Throws the error exec_process would for `file` (not found, not executable)
// without executing anything: create checks it before parking.
void check_executable(const std::string& file, const std::vector<std::string>& env);

// execve with the PATH search; returns only by throwing an Error whose message
// distinguishes "not found" (ENOENT) from "not executable" (EACCES).
[[noreturn]] void exec_process(const std::vector<std::string>& args, const std::vector<std::string>& env);

}  // namespace berth::runtime
