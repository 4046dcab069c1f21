// Running helper programs (apt-get, dpkg-deb) and capturing their output.
#pragma once
#include <string>
#include <vector>

namespace berth::builder {

struct ProcessResult {
    int exit_code = -1;  // 128+signal when killed by a signal
    std::string out;
    std::string err;
};

// Runs argv[0] (looked up in PATH) in `cwd` (if not empty) and waits for it.
// Throws berth::Error only if it cannot be started.
// `stdin_path`, when set, is opened as the child's standard input (/dev/null otherwise).
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& cwd = "",
                          const std::string& stdin_path = "");

// Like run_process, but a non-zero exit is an Error quoting the command and its stderr.
std::string run_checked(const std::vector<std::string>& argv, const std::string& cwd = "");

std::string quote_command(const std::vector<std::string>& argv);

}  // namespace berth::builder
