// A SysOps with no kernel behind it: a fake clock, scripted signals and
// children, a fake mount table; records every call.
#pragma once
#include <linux/dm-ioctl.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <cstdio>
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
    // Early boot.
    std::map<std::string, int> mount_errors;   // target -> -errno
    std::map<unsigned long, int> mount_flag_errors;  // flags -> -errno (a bind, a move)
    std::map<std::string, long> types;         // statfs f_type by path
    std::map<std::string, std::string> env;
    pid_t pid = 1;
    std::map<std::string, std::vector<std::string>> dirs;  // list_dir results
    std::map<std::string, int> reads;                       // read_file calls by path
    std::map<std::string, int> module_errors;  // module path -> -errno
    std::map<std::string, int> chroot_errors;  // path -> -errno
    std::string hostname;
    berth::init::CopyStats copy_result;
    std::map<std::string, std::string> mount_sources;  // target -> source of its last mount
    // Device mapper: the ioctl that fails (request -> -errno), the minor
    // DM_DEV_CREATE hands out, what DM_TABLE_LOAD was given.
    std::map<unsigned long, int> dm_errors;
    unsigned dm_minor = 0;
    std::string dm_target_type, dm_table;
    std::uint64_t dm_length = 0;
    std::uint32_t dm_flags = 0;

    int mount(const std::string& source, const std::string& target, const std::string&, unsigned long flags,
              const std::string&) override {
        calls.push_back("mount " + target + " " + std::to_string(flags));
        mount_sources[target] = source;
        auto it = mount_errors.find(target);
        if (it != mount_errors.end()) return it->second;
        auto by_flags = mount_flag_errors.find(flags);
        return by_flags == mount_flag_errors.end() ? 0 : by_flags->second;
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
    std::map<std::string, int> mkdir_errors;    // path -> -errno
    std::map<std::string, int> symlink_errors;  // link -> -errno
    std::map<std::string, std::string> symlinks;  // link -> target
    int mkdir(const std::string& path, mode_t) override {
        calls.push_back("mkdir " + path);
        auto it = mkdir_errors.find(path);
        return it == mkdir_errors.end() ? 0 : it->second;
    }
    int symlink(const std::string& target, const std::string& link) override {
        calls.push_back("symlink " + target + " " + link);
        if (auto it = symlink_errors.find(link); it != symlink_errors.end()) return it->second;
        if (symlinks.count(link)) return 0;  // EEXIST, as the real one reports it
        symlinks[link] = target;
        return 0;
    }
    int unlink(const std::string& path) override { return symlinks.erase(path) ? 0 : -ENOENT; }
    long fs_type(const std::string& path) override {
        auto it = types.find(path);
        return it == types.end() ? 0 : it->second;
    }
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
        ++reads[path];
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

    int rmdir(const std::string& path) override {
        calls.push_back("rmdir " + path);
        return 0;
    }
    int chdir(const std::string& path) override {
        calls.push_back("chdir " + path);
        return 0;
    }
    int chroot(const std::string& path) override {
        calls.push_back("chroot " + path);
        auto it = chroot_errors.find(path);
        return it == chroot_errors.end() ? 0 : it->second;
    }
    pid_t getpid() override { return pid; }
    std::optional<std::string> getenv(const std::string& name) override {
        auto it = env.find(name);
        if (it == env.end()) return std::nullopt;
        return it->second;
    }
    std::optional<std::vector<std::string>> list_dir(const std::string& path) override {
        auto it = dirs.find(path);
        if (it == dirs.end()) return std::nullopt;
        return it->second;
    }
    std::optional<std::string> read_link(const std::string& path) override {
        auto it = symlinks.find(path);
        if (it == symlinks.end()) return std::nullopt;
        return it->second;
    }
    std::optional<std::string> read_head(const std::string& path, std::size_t size) override {
        auto it = files.find(path);
        if (it == files.end()) return std::nullopt;
        return it->second.substr(0, size);
    }
    int load_module(const std::string& path, const std::string& params) override {
        calls.push_back("load_module " + path + (params.empty() ? "" : " " + params));
        auto it = module_errors.find(path);
        return it == module_errors.end() ? 0 : it->second;
    }
    int sethostname(const std::string& name) override {
        calls.push_back("sethostname " + name);
        hostname = name;
        return 0;
    }
    std::string link_up(const std::string& ifname) override {
        calls.push_back("link_up " + ifname);
        return "";
    }
    int create_file(const std::string& path, mode_t) override {
        calls.push_back("create " + path);
        return 0;
    }
    std::map<std::string, int> node_errors;  // set_node_owner_mode: path -> -errno
    int set_node_owner_mode(const std::string& path, uid_t uid, gid_t gid, mode_t mode) override {
        char m[8];
        std::snprintf(m, sizeof m, "%04o", unsigned(mode));
        calls.push_back("owner " + path + " " + std::to_string(uid) + ":" + std::to_string(gid) + " " + m);
        auto it = node_errors.find(path);
        return it == node_errors.end() ? 0 : it->second;
    }
    int set_nofile_limit(unsigned long limit) override {
        calls.push_back("nofile " + std::to_string(limit));
        return 0;
    }
    void ensure_console() override { calls.push_back("ensure_console"); }
    berth::init::CopyStats copy_tree(const std::string& from, const std::string& to, bool move,
                                     const std::set<std::string>&) override {
        calls.push_back("copy_tree " + from + " " + to + (move ? " move" : ""));
        return copy_result;
    }
    void remove_same_fs(const std::string& root) override { calls.push_back("remove_same_fs " + root); }
    int nonblocking_error = 0;
    int subreaper_error = 0;
    int set_nonblocking(int fd) override {
        calls.push_back("nonblocking " + std::to_string(fd));
        return nonblocking_error;
    }
    int set_child_subreaper() override {
        calls.push_back("subreaper");
        return subreaper_error;
    }
    int dm_ioctl(unsigned long request, void* buf) override {
        auto* io = static_cast<struct dm_ioctl*>(buf);
        const char* what = request == DM_DEV_CREATE    ? "DM_DEV_CREATE"
                           : request == DM_TABLE_LOAD  ? "DM_TABLE_LOAD"
                           : request == DM_DEV_SUSPEND ? "DM_DEV_SUSPEND"
                           : request == DM_DEV_REMOVE  ? "DM_DEV_REMOVE"
                                                       : "DM_OTHER";
        calls.push_back(std::string("dm_ioctl ") + what + " " + io->name);
        if (auto it = dm_errors.find(request); it != dm_errors.end()) return it->second;
        if (request == DM_DEV_CREATE) io->dev = makedev(253, dm_minor);
        if (request == DM_TABLE_LOAD && io->target_count == 1) {
            auto* spec = reinterpret_cast<struct dm_target_spec*>(static_cast<char*>(buf) + io->data_start);
            dm_target_type = spec->target_type;
            dm_length = spec->length;
            dm_table = reinterpret_cast<char*>(spec + 1);
            dm_flags = io->flags;
        }
        if (request == DM_DEV_SUSPEND && !(io->flags & DM_SUSPEND_FLAG))
            files_present.insert("/dev/dm-" + std::to_string(dm_minor));  // devtmpfs makes the node
        return 0;
    }
};

}  // namespace testing
