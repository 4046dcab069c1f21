#include "runtime/capabilities.hpp"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/log.hpp"
#include "config/oci_names.hpp"

namespace berth::runtime {

std::string cap_label(int cap) {
    auto n = oci::capability_name(cap);
    return n.empty() ? std::to_string(cap) : std::string(n);
}

int kernel_last_cap() {
    // The kernel's capabilities are 0..last, and PR_CAPBSET_READ refuses
    // the ones beyond: a binary search (6 probes, not one per capability),
    // done once per process (every start asked twice: ~80 system calls).
    static const int last = [] {
        int known = 0, beyond = 64;  // CAP_CHOWN (0) always exists; capset stops at 63
        while (beyond - known > 1) {
            int mid = (known + beyond) / 2;
            (::prctl(PR_CAPBSET_READ, mid, 0, 0, 0) >= 0 ? known : beyond) = mid;
        }
        return known;
    }();
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
    // capset(2) directly, version 3: two 32-bit words per set. (libcap-ng
    // did the same, and linked getpwuid, sscanf and syslog into PID 1.)
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    auto add = [&](const std::vector<int>& set, __u32 __user_cap_data_struct::*field) {
        for (int cap : set) {
            if (cap < 0 || cap > last) continue;
            if (unsigned(cap) >= 32 * _LINUX_CAPABILITY_U32S_3)
                throw Error("capability " + cap_label(cap) + ": beyond what capset can set", EINVAL);
            data[cap / 32].*field |= __u32(1) << (cap % 32);
        }
    };
    add(caps.effective, &__user_cap_data_struct::effective);
    add(caps.permitted, &__user_cap_data_struct::permitted);
    add(caps.inheritable, &__user_cap_data_struct::inheritable);
    if (::syscall(SYS_capset, &header, data) < 0) throw_errno("capset");

    // Ambient needs each capability in permitted and inheritable already.
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) throw_errno("clear ambient set");
    for (int cap : caps.ambient) {
        if (cap > last || ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) == 0) continue;
        // Not in permitted and inheritable: the kernel refuses, and crun and
        // runc go on without it, silently; so does berth here, where stderr is
        // already the container's (launch() notes it, in the parent).
        if (errno == EPERM) continue;
        throw_errno("raise ambient " + cap_label(cap));
    }
}

std::vector<int> ambient_not_raisable(const oci::Capabilities& caps) {
    auto has = [](const std::vector<int>& v, int c) { return std::find(v.begin(), v.end(), c) != v.end(); };
    std::vector<int> out;
    for (int cap : caps.ambient)
        if (!has(caps.permitted, cap) || !has(caps.inheritable, cap)) out.push_back(cap);
    return out;
}

void set_no_new_privs() {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) throw_errno("prctl(PR_SET_NO_NEW_PRIVS)");
}

}  // namespace berth::runtime
