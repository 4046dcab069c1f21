// A SysOps with no kernel behind it: a fake clock, scripted signals and
// children, a fake mount table; records every call.
#pragma once
#include <sys/wait.h>

#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "init/sys_ops.hpp"

namespace testing {

struct FakeSys : berth::init::SysOps {
    std::int64_t clock = 0;
    std::vector<std::string> calls;
    // Signals that arrive, each at a time on the fake clock.
    std::deque<std::pair<std::int64_t, int>> signals;
    // Children: pid -> time it exits (then reap_one returns it).
    std::map<pid_t, std::int64_t> children;
    std::set<std::string> files_present;
    std::map<std::string, std::string> files;
    std::vector<std::string> mounts;  // mount points in mount order
    std::set<std::string> busy;       // umount fails with EBUSY
    std::set<std::string> refused;    // write_file data refused with EINVAL
    int reboot_result = 0;
    pid_t next_pid = 500;
    // What kill(-1, SIGTERM/SIGKILL) does to the children: the time they exit.
    std::int64_t term_takes_ms = 0;
    bool ignore_term = false;

    int mount(const std::string&, const std::string& target, const std::string&, unsigned long flags,
              const std::string&) override {
        calls.push_back("mount " + target + " " + std::to_string(flags));
        return 0;
    }
    int umount(const std::string& target, int) override {
        calls.push_back("umount " + target);
        if (busy.count(target)) return -EBUSY;
        for (auto it = mounts.begin(); it != mounts.end(); ++it)
            if (*it == target) {
                mounts.erase(it);
                break;
            }
        return 0;
    }
    int mkdir(const std::string&, mode_t) override { return 0; }
    int symlink(const std::string&, const std::string&) override { return 0; }
    long fs_type(const std::string&) override { return 0; }
    int kill(pid_t pid, int sig) override {
        calls.push_back("kill " + std::to_string(pid) + " " + std::to_string(sig));
        if (pid != -1) return 0;
        if (children.empty()) return -ESRCH;
        for (auto& [p, t] : children) {
            if (sig == SIGKILL) t = std::min(t, clock);
            else if (sig == SIGTERM && !ignore_term) t = std::min(t, clock + term_takes_ms);
        }
        return 0;
    }
    int reap_one(pid_t& pid, int& code, int& status) override {
        if (children.empty()) return -ECHILD;
        for (auto it = children.begin(); it != children.end(); ++it)
            if (it->second <= clock) {
                pid = it->first;
                code = CLD_EXITED;
                status = 0;
                children.erase(it);
                calls.push_back("reaped " + std::to_string(pid));
                return 1;
            }
        return 0;
    }
    int wait_signal(int timeout_ms) override {
        std::int64_t until = clock + timeout_ms;
        if (!signals.empty() && signals.front().first <= until) {
            auto [at, sig] = signals.front();
            signals.pop_front();
            clock = std::max(clock, at);
            return sig;
        }
        // A child exiting in the meantime raises SIGCHLD.
        for (auto& [p, t] : children)
            if (t > clock && t <= until) {
                clock = t;
                return SIGCHLD;
            }
        clock = until;
        return 0;
    }
    int spawn_on_console(const std::string& program) override {
        calls.push_back("spawn " + program);
        pid_t pid = next_pid++;
        children[pid] = INT64_MAX;
        return pid;
    }
    int reboot(int cmd) override {
        calls.push_back("reboot " + std::to_string(cmd));
        return reboot_result;
    }
    void sync() override { calls.push_back("sync"); }
    std::optional<std::string> read_file(const std::string& path) override {
        if (path == "/proc/self/mountinfo") {
            std::string text;
            int id = 20;
            for (auto& m : mounts) text += std::to_string(id++) + " 1 0:1 / " + m + " rw - tmpfs tmpfs rw\n";
            return text;
        }
        auto it = files.find(path);
        if (it == files.end()) return std::nullopt;
        return it->second;
    }
    int write_file(const std::string& path, const std::string& data) override {
        calls.push_back("write " + path + " " + data);
        if (refused.count(data)) return -EINVAL;
        files[path] = data;
        return 0;
    }
    bool exists(const std::string& path) override { return files_present.count(path) > 0; }
    std::int64_t now_ms() override { return clock; }
    void sleep_ms(int ms) override { clock += ms; }
};

}  // namespace testing
