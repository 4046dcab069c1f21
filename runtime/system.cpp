#include "runtime/system.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/error.hpp"
#include "runtime/sysfile.hpp"

namespace berth::runtime {

void set_hostname(const std::string& hostname, const std::string& domainname) {
    if (!hostname.empty() && ::sethostname(hostname.data(), hostname.size()) < 0)
        throw_errno(fmt::format("sethostname `{}`", hostname));
    if (!domainname.empty() && ::setdomainname(domainname.data(), domainname.size()) < 0)
        throw_errno(fmt::format("setdomainname `{}`", domainname));
}

std::string sysctl_path(const std::string& key) {
    std::string rel = key;
    // Keys use dots as separators; a key already written with slashes is kept.
    if (rel.find('/') == std::string::npos)
        for (char& c : rel)
            if (c == '.') c = '/';
    return "/proc/sys/" + rel;
}

void apply_sysctl(const std::map<std::string, std::string>& sysctl) {
    for (const auto& [key, value] : sysctl) {
        if (key.find("..") != std::string::npos) throw Error(fmt::format("sysctl `{}`: invalid key", key), EINVAL);
        with_context(fmt::format("sysctl `{}`", key), [&] { write_kernel_file(sysctl_path(key), value); });
    }
}

void apply_rlimits(const std::vector<oci::Rlimit>& rlimits) {
    for (const auto& r : rlimits) {
        struct rlimit lim{};
        lim.rlim_cur = r.soft;
        lim.rlim_max = r.hard;
        if (::setrlimit(__rlimit_resource(r.resource), &lim) < 0)
            throw_errno(fmt::format("setrlimit {} (soft {}, hard {})", r.type, r.soft, r.hard));
    }
}

void set_oom_score_adj(int value) {
    with_context("oom_score_adj", [&] { write_kernel_file("/proc/self/oom_score_adj", std::to_string(value)); });
}

}  // namespace berth::runtime
