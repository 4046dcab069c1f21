#include "runtime/capabilities.hpp"

#include <sys/prctl.h>

#include <algorithm>
#include <cstring>

#include <cap-ng.h>
#include <fmt/format.h>

#include "common/error.hpp"
#include "common/log.hpp"
#include "config/oci_names.hpp"

namespace berth::runtime {
namespace {

std::string cap_label(int cap) {
    auto n = oci::capability_name(cap);
    return n.empty() ? std::to_string(cap) : std::string(n);
}

}  // namespace

int kernel_last_cap() {
    int last = 0;
    while (::prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0) ++last;
    return last;
}

void drop_bounding(const std::vector<int>& keep) {
    int last = kernel_last_cap();
    for (int cap = 0; cap <= last; ++cap) {
        if (std::find(keep.begin(), keep.end(), cap) != keep.end()) continue;
        if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
            throw_errno("drop " + cap_label(cap) + " from the bounding set");
    }
}

void keep_caps(bool on) {
    if (::prctl(PR_SET_KEEPCAPS, on ? 1 : 0, 0, 0, 0) < 0) throw_errno("prctl(PR_SET_KEEPCAPS)");
}

void apply_caps(const oci::Capabilities& caps) {
    int last = kernel_last_cap();
    capng_clear(CAPNG_SELECT_CAPS);
    auto add = [&](const std::vector<int>& set, capng_type_t type) {
        for (int cap : set)
            if (cap <= last && capng_update(CAPNG_ADD, type, unsigned(cap)) < 0)
                throw Error("capng_update " + cap_label(cap), EINVAL);
    };
    add(caps.effective, CAPNG_EFFECTIVE);
    add(caps.permitted, CAPNG_PERMITTED);
    add(caps.inheritable, CAPNG_INHERITABLE);
    errno = 0;
    if (capng_apply(CAPNG_SELECT_CAPS) < 0)
        throw Error(fmt::format("capset: {}", errno ? std::strerror(errno) : "rejected"), errno ? errno : EPERM);

    // Ambient needs each capability in permitted and inheritable already.
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) throw_errno("clear ambient set");
    for (int cap : caps.ambient) {
        if (cap > last || ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) == 0) continue;
        // Not in permitted and inheritable: the kernel refuses, and crun and
        // runc go on without it; so does berth, but says so.
        if (errno == EPERM) {
            log::warn("ambient {} not raised: it must be in the permitted and inheritable sets", cap_label(cap));
            continue;
        }
        throw_errno("raise ambient " + cap_label(cap));
    }
}

void set_no_new_privs() {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) throw_errno("prctl(PR_SET_NO_NEW_PRIVS)");
}

}  // namespace berth::runtime
