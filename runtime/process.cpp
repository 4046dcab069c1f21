#include "runtime/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

#include <fmt/format.h>

#include "common/error.hpp"

namespace berth::runtime {
namespace {

void close_from_to(unsigned first, unsigned last) {
    if (first > last) return;
    if (::syscall(SYS_close_range, first, last, 0) == 0) return;
    if (errno != ENOSYS) throw_errno("close_range");
    for (unsigned fd = first; fd <= last && fd < 65536; ++fd) ::close(int(fd));  // pre-5.9 kernels
}

}  // namespace

void reset_signals() {
    sigset_t none;
    sigemptyset(&none);
    if (::sigprocmask(SIG_SETMASK, &none, nullptr) < 0) throw_errno("sigprocmask");
    struct sigaction sa{};
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        if (::sigaction(sig, &sa, nullptr) == 0) continue;
        if (errno != EINVAL) throw_errno(fmt::format("reset signal {}", sig));
        // glibc refuses its two reserved real-time signals, yet an ignored
        // disposition of theirs is inherited: reset them with the raw system
        // call. An all-zero kernel sigaction is SIG_DFL, no flags, empty mask on
        // every architecture.
        unsigned long ksa[4] = {0, 0, 0, 0};
        if (::syscall(SYS_rt_sigaction, sig, ksa, nullptr, sizeof(unsigned long)) < 0 && errno != EINVAL)
            throw_errno(fmt::format("reset signal {}", sig));
    }
}

void setup_stdio(const StdioFds& stdio, int devnull, std::vector<int> keep, int preserve) {
    // Copy to fds above the preserved ones first so that sources which are
    // themselves 0..2 are not overwritten before they are used.
    const int first_free = 3 + preserve;
    int src[3] = {stdio.in, stdio.out, stdio.err};
    int tmp[3];
    for (int i = 0; i < 3; ++i) {
        int from = src[i] < 0 ? devnull : src[i];
        tmp[i] = ::fcntl(from, F_DUPFD_CLOEXEC, first_free);
        if (tmp[i] < 0) throw_errno(fmt::format("dup stdio fd {}", from));
    }
    for (int i = 0; i < 3; ++i)
        if (::dup2(tmp[i], i) < 0) throw_errno(fmt::format("dup2 to fd {}", i));
    for (int i = 0; i < preserve; ++i) {
        int flags = ::fcntl(3 + i, F_GETFD);
        if (flags >= 0) ::fcntl(3 + i, F_SETFD, flags & ~FD_CLOEXEC);
    }
    std::sort(keep.begin(), keep.end());
    unsigned next = unsigned(first_free);
    for (int k : keep) {
        if (k < first_free) continue;
        close_from_to(next, unsigned(k) - 1);
        next = unsigned(k) + 1;
    }
    close_from_to(next, UINT_MAX);
}

std::optional<std::string> env_get(const std::vector<std::string>& env, const std::string& name) {
    std::optional<std::string> v;
    for (const auto& e : env)
        if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=')
            v = e.substr(name.size() + 1);  // the last one wins, as getenv on a built env
    return v;
}

std::vector<std::string> build_env(const std::vector<std::string>& env, const std::string& home) {
    std::vector<std::string> out = env;
    if (!env_get(env, "HOME")) out.push_back("HOME=" + home);
    return out;
}

std::vector<std::string> exec_candidates(const std::string& file, const std::string& path_var) {
    if (file.find('/') != std::string::npos) return {file};
    std::vector<std::string> out;
    size_t i = 0;
    for (;;) {
        size_t j = path_var.find(':', i);
        std::string dir = path_var.substr(i, j == std::string::npos ? std::string::npos : j - i);
        out.push_back(dir.empty() ? file : dir + (dir.back() == '/' ? "" : "/") + file);
        if (j == std::string::npos) return out;
        i = j + 1;
    }
}

void check_executable(const std::string& file, const std::vector<std::string>& env) {
    const std::string path_var = env_get(env, "PATH").value_or(kDefaultPath);
    const bool has_slash = file.find('/') != std::string::npos;
    std::string denied;
    for (const auto& cand : exec_candidates(file, path_var)) {
        struct stat st;
        if (::stat(cand.c_str(), &st) < 0) continue;
        if (S_ISREG(st.st_mode) && ::faccessat(AT_FDCWD, cand.c_str(), X_OK, AT_EACCESS) == 0) return;
        if (denied.empty()) denied = cand;
    }
    if (!denied.empty()) throw Error(fmt::format("`{}` is not executable: permission denied", denied), EACCES);
    if (has_slash) throw Error(fmt::format("executable `{}` not found: no such file or directory", file), ENOENT);
    throw Error(fmt::format("executable `{}` not found in PATH `{}`: no such file or directory", file, path_var), ENOENT);
}

void exec_process(const std::vector<std::string>& args, const std::vector<std::string>& env) {
    std::vector<char*> argv, envp;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    const std::string path_var = env_get(env, "PATH").value_or(kDefaultPath);
    const std::string& file = args.at(0);
    const bool has_slash = file.find('/') != std::string::npos;
    std::string denied;  // first candidate that exists but cannot be executed
    for (const auto& cand : exec_candidates(file, path_var)) {
        ::execve(cand.c_str(), argv.data(), envp.data());
        int err = errno;
        if (err == EACCES) {
            if (denied.empty()) denied = cand;
            if (has_slash) break;
            continue;  // keep searching, as execvpe does
        }
        if (err == ENOENT && has_slash)
            throw Error(fmt::format("executable `{}` not found (or its interpreter is missing): no such file or directory", file),
                            err);
        if (err == ENOENT || err == ENOTDIR || err == ESTALE || err == ENODEV || err == ETIMEDOUT) continue;
        throw_errno(fmt::format("execve `{}`", cand), err);
    }
    if (!denied.empty())
        throw Error(fmt::format("`{}` is not executable: permission denied", denied), EACCES);
    throw Error(fmt::format("executable `{}` not found in PATH `{}`: no such file or directory", file, path_var), ENOENT);
}

}  // namespace berth::runtime
