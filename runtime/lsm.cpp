#include "runtime/lsm.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/error.hpp"

namespace berth::runtime {
namespace {

bool listed_in(const std::string& csv, std::string_view name) {
    size_t at = 0;
    while (at <= csv.size()) {
        size_t end = csv.find_first_of(",\n", at);
        if (end == std::string::npos) end = csv.size();
        if (std::string_view(csv).substr(at, end - at) == name) return true;
        at = end + 1;
    }
    return false;
}


void write_attr(int fd, const std::string& value, const char* field) {
    ssize_t n;
    do {
        n = ::write(fd, value.data(), value.size());
    } while (n < 0 && errno == EINTR);
    if (n != ssize_t(value.size())) throw_errno(fmt::format("{}: write `{}`", field, value));
}

// Opens `path`, moved to an fd at or above `min_fd`.
fs::Fd open_attr(const char* path, int min_fd) {
    fs::Fd fd(::open(path, O_WRONLY | O_CLOEXEC));
    if (!fd || fd.get() >= min_fd) return fd;
    fs::Fd high(::fcntl(fd.get(), F_DUPFD_CLOEXEC, min_fd));
    if (!high) throw_errno(std::string("move `") + path + "` above fd " + std::to_string(min_fd));
    return high;
}

}  // namespace

bool lsm_enabled(std::string_view name) {
    auto lsms = fs::try_read_file("/sys/kernel/security/lsm");
    if (lsms && !listed_in(*lsms, name)) return false;
    if (name == "apparmor") {
        auto on = fs::try_read_file("/sys/module/apparmor/parameters/enabled");
        return on && !on->empty() && (*on)[0] == 'Y';
    }
    if (name == "selinux") return lsms ? true : fs::exists("/sys/fs/selinux/enforce");
    return lsms.has_value();
}

void check_lsm_field(std::string_view field, const std::string& value) {
    if (value.empty()) return;
    const bool apparmor = field == "process.apparmorProfile";
    if (lsm_enabled(apparmor ? "apparmor" : "selinux")) return;
    throw Error(fmt::format("{}: {} is not enabled on this kernel (cannot apply `{}`)", field,
                            apparmor ? "AppArmor" : "SELinux", value),
                ENOTSUP);
}

void ExecLabels::open(const oci::Process& p, int min_fd) {
    profile_ = p.apparmor_profile;
    label_ = p.selinux_label;
    if (!profile_.empty()) {
        // The AppArmor-specific file first (LSM stacking), the shared one else.
        apparmor_ = open_attr("/proc/thread-self/attr/apparmor/exec", min_fd);
        if (!apparmor_) apparmor_ = open_attr("/proc/thread-self/attr/exec", min_fd);
        if (!apparmor_) throw_errno("process.apparmorProfile: open `/proc/thread-self/attr/exec`");
    }
    if (!label_.empty()) {
        selinux_ = open_attr("/proc/thread-self/attr/exec", min_fd);
        if (!selinux_) throw_errno("process.selinuxLabel: open `/proc/thread-self/attr/exec`");
    }
}

std::vector<int> ExecLabels::fds() const {
    std::vector<int> out;
    for (const fs::Fd* f : {&apparmor_, &selinux_})
        if (*f) out.push_back(f->get());
    return out;
}

void ExecLabels::apply() {
    if (apparmor_) write_attr(apparmor_.get(), "exec " + profile_, "process.apparmorProfile");
    if (selinux_) write_attr(selinux_.get(), label_, "process.selinuxLabel");
    apparmor_.reset();
    selinux_.reset();
}

}  // namespace berth::runtime
