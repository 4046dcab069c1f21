#include "runtime-cli/state.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstring>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "runtime/cgroup.hpp"

namespace berth::runc {

using nlohmann::json;

const char* status_name(Status s) {
    switch (s) {
        case Status::creating: return "creating";
        case Status::created: return "created";
        case Status::running: return "running";
        case Status::paused: return "paused";
        case Status::stopped: return "stopped";
    }
    return "unknown";
}

std::optional<ProcStat> proc_stat(pid_t pid) {
    if (pid <= 0) return std::nullopt;
    auto stat = fs::try_read_file(fmt::format("/proc/{}/stat", pid));
    if (!stat) return std::nullopt;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    size_t p = stat->rfind(')');
    if (p == std::string::npos || p + 2 >= stat->size()) return std::nullopt;
    char state = (*stat)[p + 2];
    // Field 3 is the state; the start time is field 22.
    size_t pos = p + 2;
    for (int field = 3; field < 22; ++field) {
        pos = stat->find(' ', pos);
        if (pos == std::string::npos) return std::nullopt;
        ++pos;
    }
    return ProcStat{state, std::strtoull(stat->c_str() + pos, nullptr, 10)};
}

std::optional<std::uint64_t> live_start_time(pid_t pid) {
    auto st = proc_stat(pid);
    if (!st || st->state == 'Z' || st->state == 'X' || st->state == 'x') return std::nullopt;
    return st->start_time;
}

std::string now_rfc3339() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    // UTC by arithmetic: glibc's gmtime_r loads the time zone file first
    // (/etc/localtime: seven system calls a start), which UTC never needs.
    using namespace std::chrono;
    const sys_seconds now{seconds{ts.tv_sec}};
    const sys_days day = floor<days>(now);
    const year_month_day date{day};
    const hh_mm_ss<seconds> time{now - day};
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", int(date.year()), unsigned(date.month()),
                       unsigned(date.day()), time.hours().count(), time.minutes().count(), time.seconds().count(),
                       ts.tv_nsec);
}

void Store::check_id(const std::string& id) {
    bool ok = !id.empty() && id.size() <= 1024 && id != "." && id != "..";
    for (char c : id)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '+')) ok = false;
    if (!ok) throw Error(fmt::format("invalid container id `{}`: use letters, digits, `_`, `-`, `.` or `+`", id), EINVAL);
}

void Store::create_dir(const std::string& id) const {
    // Engines pass a root whose parents may not exist yet (containerd's shim:
    // /run/containerd/runc/NAMESPACE), as runc creates them.
    // The root's parents only when it is missing: one mkdir in the usual case.
    int made = ::mkdir(dir(id).c_str(), 0700);
    if (made < 0 && errno == ENOENT) {
        fs::mkdir_p(root_, 0700);
        made = ::mkdir(dir(id).c_str(), 0700);
    }
    if (made < 0) {
        if (errno == EEXIST) throw Error(fmt::format("container `{}` already exists", id), EEXIST);
        throw_errno(fmt::format("create state directory `{}`", dir(id)));
    }
}

fs::Fd Store::lock(const std::string& id) const {
    fs::Fd fd(::open(dir(id).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) throw Error(fmt::format("container `{}` does not exist", id), ENOENT);
        throw_errno(fmt::format("open state directory `{}`", dir(id)));
    }
    while (::flock(fd.get(), LOCK_EX) < 0)
        if (errno != EINTR) throw_errno(fmt::format("lock state directory `{}`", dir(id)));
    return fd;
}

State Store::load(const std::string& id) const {
    check_id(id);
    State s;
    s.id = id;
    auto text = fs::try_read_file(fs::join(dir(id), "state.json"));
    if (!text) {
        if (!fs::is_dir(dir(id))) throw Error(fmt::format("container `{}` does not exist", id), ENOENT);
        return s;  // being created: no process yet
    }
    json j = json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw Error(fmt::format("container `{}`: state file `{}` is corrupt", id, fs::join(dir(id), "state.json")),
                    EINVAL);
    s.pid = j.value("pid", 0);
    s.start_time = j.value("pidStartTime", std::uint64_t(0));
    s.bundle = j.value("bundle", "");
    s.rootfs = j.value("rootfs", "");
    s.created = j.value("created", "");
    s.cgroup = j.value("cgroup", "");
    s.owner = j.value("owner", "");
    if (auto a = j.find("annotations"); a != j.end() && a->is_object())
        for (auto it = a->begin(); it != a->end(); ++it)
            if (it->is_string()) s.annotations[it.key()] = it->get<std::string>();
    return s;
}

void Store::save(const State& s) const {
    json j = {{"id", s.id},         {"pid", s.pid},       {"pidStartTime", s.start_time},
              {"bundle", s.bundle}, {"rootfs", s.rootfs}, {"created", s.created},
              {"cgroup", s.cgroup}, {"owner", s.owner},   {"annotations", s.annotations}};
    const std::string file = fs::join(dir(s.id), "state.json");
    const std::string tmp = file + ".tmp";
    fs::write_file(tmp, j.dump(), 0600);
    if (::rename(tmp.c_str(), file.c_str()) < 0) throw_errno(fmt::format("rename `{}`", tmp));
}

void Store::remove(const std::string& id) const {
    const std::string d = dir(id);
    for (const auto& name : fs::list_dir(d))
        if (::unlink(fs::join(d, name).c_str()) < 0 && errno != ENOENT)
            throw_errno(fmt::format("remove `{}`", fs::join(d, name)));
    if (::rmdir(d.c_str()) < 0 && errno != ENOENT) throw_errno(fmt::format("remove `{}`", d));
}

std::vector<std::string> Store::ids() const {
    if (!fs::is_dir(root_)) return {};
    std::vector<std::string> out;
    for (const auto& name : fs::list_dir(root_))
        if (name[0] != '.' && fs::is_dir(fs::join(root_, name))) out.push_back(name);  // .seccomp-cache
    return out;
}

Status Store::status(const State& s) const {
    if (s.pid <= 0) return Status::creating;
    auto st = live_start_time(s.pid);
    if (!st || *st != s.start_time) return Status::stopped;
    if (fs::exists(fifo(s.id))) return Status::created;
    if (!s.cgroup.empty())
        if (auto cg = runtime::container_cgroup(runtime::cgroup_host(), s.cgroup); cg && cg->frozen())
            return Status::paused;
    return Status::running;
}

}  // namespace berth::runc
