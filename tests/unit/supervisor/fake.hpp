// Shared fixtures: a temporary /containers tree, a launcher handing out fake
// pids, and an event loop on a fake clock.
#pragma once
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "supervisor/supervisor.hpp"
#include "../temp_dir.hpp"

namespace testing {

using namespace berth::supervisor;
namespace fs = berth::fs;

struct TempTree {
    berth::test::TempDir dir;
    const std::string root{dir.path()};
    // A bundle directory, with runtime.json {"berth": policy} when policy is given.
    void bundle(const std::string& kind, const std::string& name, const std::string& policy = "") {
        fs::mkdir_p(root + "/" + kind + "/" + name);
        if (!policy.empty()) fs::write_file(root + "/" + kind + "/" + name + "/runtime.json", "{\"berth\": " + policy + "}");
    }
};

// Hands out fake pids and records the order of starts; fails names it is told
// to. Reports at once, as if setup took no time, unless `hold` is set: then
// each start waits for finish(name) or fail(name, why), as a launch process
// still setting up would.
struct FakeLauncher : Launcher {
    std::vector<std::string> started;
    std::vector<std::string> broken;
    std::vector<std::string> cancelled;
    std::vector<std::string> prepared;   // every preparation, in order
    std::vector<std::string> waiting;    // prepared, neither started nor discarded yet
    std::vector<std::string> taken;      // starts that took a preparation over
    std::vector<std::string> discarded;
    std::vector<pid_t> launch_pids;  // the launch processes' own pids, claimed by reaped()
    std::map<std::string, Done> held;
    bool hold = false;
    pid_t next = 1000;
    void prepare(Container& c) override {
        prepared.push_back(c.name);
        waiting.push_back(c.name);
    }
    bool drop_waiting(const std::string& name) {
        for (auto it = waiting.begin(); it != waiting.end(); ++it)
            if (*it == name) {
                waiting.erase(it);
                return true;
            }
        return false;
    }
    void discard(Container& c) override {
        if (drop_waiting(c.name)) discarded.push_back(c.name);
    }
    void start(Container& c, Done done) override {
        started.push_back(c.name);
        if (drop_waiting(c.name)) taken.push_back(c.name);
        if (hold) {
            held[c.name] = std::move(done);
            return;
        }
        done(outcome(c.name));
    }
    void cancel(Container& c) override {
        discard(c);
        if (held.erase(c.name)) cancelled.push_back(c.name);
    }
    bool reaped(pid_t pid, int, int) override {
        for (auto it = launch_pids.begin(); it != launch_pids.end(); ++it)
            if (*it == pid) {
                launch_pids.erase(it);
                return true;
            }
        return false;
    }
    LaunchResult outcome(const std::string& name) {
        LaunchResult r;
        for (auto& b : broken)
            if (b == name) r.error = "container `" + name + "`: exec: `/bin/nope` not found";
        if (r.error.empty()) r.pid = next++;
        return r;
    }
    // Delivers a held start's report; returns the pid it reported.
    pid_t finish(const std::string& name) {
        auto it = held.find(name);
        if (it == held.end()) throw std::runtime_error(name + " has no start held");
        Done done = std::move(it->second);
        held.erase(it);
        LaunchResult r = outcome(name);
        pid_t pid = r.pid;
        done(std::move(r));
        return pid;
    }
    void fail(const std::string& name, const std::string& why) {
        auto it = held.find(name);
        if (it == held.end()) throw std::runtime_error(name + " has no start held");
        Done done = std::move(it->second);
        held.erase(it);
        LaunchResult r;
        r.error = why;
        done(std::move(r));
    }
    int count(const std::string& n) const {
        int k = 0;
        for (auto& s : started) k += s == n;
        return k;
    }
};

inline Settings settings(const std::string& root, Millis kill_wait, const std::string& notify_dir = "") {
    Settings s;
    s.containers_root = root;
    s.kill_wait_ms = kill_wait;
    s.notify_dir = notify_dir;
    return s;
}

inline sigset_t no_signals() {
    sigset_t s;
    sigemptyset(&s);
    return s;
}

struct Rig {
    TempTree t;
    EventLoop loop{no_signals(), [](const signalfd_siginfo&) {}};
    FakeLauncher l;
    Millis now = 1000000;
    std::unique_ptr<Supervisor> s;
    Rig() { loop.set_clock([this] { return now; }); }
    Supervisor& make(Millis kill_wait = 100) {
        s = std::make_unique<Supervisor>(loop, l, settings(t.root, kill_wait));
        return *s;
    }
    void advance(Millis ms) {
        // In small steps, so that timers set by timers fire in order.
        Millis end = now + ms;
        while (now < end) {
            now = std::min(end, now + 10);
            loop.run_due_timers();
        }
    }
    const Container& get(const std::string& name) {
        for (auto& c : s->containers())
            if (c.name == name) return c;
        throw std::runtime_error("no " + name);
    }
    void exit(const std::string& name, int code = 0, int how = CLD_EXITED) {
        pid_t pid = get(name).pid;
        if (pid <= 0) throw std::runtime_error(name + " is not running");
        s->child_exited(pid, how, code);
    }
};

}  // namespace testing
