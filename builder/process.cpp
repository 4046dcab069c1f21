#include "builder/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/fs.hpp"

extern char** environ;

namespace berth::builder {

std::string quote_command(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& a : argv) {
        if (!out.empty()) out += ' ';
        if (a.find_first_of(" \t'\"\\$") == std::string::npos && !a.empty()) {
            out += a;
        } else {
            out += '\'';
            for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
            out += '\'';
        }
    }
    return out;
}

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& cwd, const std::string& stdin_path) {
    fs::Fd input(::open(stdin_path.empty() ? "/dev/null" : stdin_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!input) throw_errno("open `" + stdin_path + "` as the input of `" + argv.at(0) + "`");
    int out_pipe[2], err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) < 0) throw_errno("pipe");
    fs::Fd out_r(out_pipe[0]), out_w(out_pipe[1]);
    if (::pipe2(err_pipe, O_CLOEXEC) < 0) throw_errno("pipe");
    fs::Fd err_r(err_pipe[0]), err_w(err_pipe[1]);

    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        ::dup2(out_w.get(), 1);
        ::dup2(err_w.get(), 2);
        ::dup2(input.get(), 0);
        if (!cwd.empty() && ::chdir(cwd.c_str()) < 0) _exit(126);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        _exit(127);
    }
    out_w.reset();
    err_w.reset();

    ProcessResult r;
    pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
    std::string* bufs[2] = {&r.out, &r.err};
    int open_fds = 2;
    char buf[8192];
    while (open_fds > 0) {
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            throw_errno("poll");
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                bufs[i]->append(buf, size_t(n));
            } else if (n == 0 || errno != EINTR) {
                fds[i].fd = -1;
                --open_fds;
            }
        }
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) throw_errno("waitpid");
    if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) r.exit_code = 128 + WTERMSIG(status);
    if (r.exit_code == 127 && r.out.empty() && r.err.empty())
        throw Error("cannot run `" + argv.at(0) + "`: not found", ENOENT);
    return r;
}

std::string run_checked(const std::vector<std::string>& argv, const std::string& cwd) {
    ProcessResult r = run_process(argv, cwd);
    if (r.exit_code != 0) {
        std::string err = fs::trim(r.err.empty() ? r.out : r.err);
        throw Error("`" + quote_command(argv) + "` failed with exit status " +
                    std::to_string(r.exit_code) + (err.empty() ? "" : ":\n" + err));
    }
    return r.out;
}

}  // namespace berth::builder
