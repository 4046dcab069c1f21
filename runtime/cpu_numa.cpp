#include "runtime/cpu_numa.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "common/error.hpp"

namespace berth::runtime {

void set_cpu_affinity(pid_t pid, const oci::IdSet& cpus, const char* field) {
    // Every bit of the largest kernel's mask when the set is empty.
    std::vector<std::uint64_t> all;
    const std::vector<std::uint64_t>* mask = &cpus.words;
    if (cpus.empty()) {
        all.assign(8192 / 64, ~std::uint64_t(0));
        mask = &all;
    }
    if (::syscall(SYS_sched_setaffinity, pid, mask->size() * sizeof(std::uint64_t), mask->data()) < 0) {
        int err = errno;
        throw Error(fmt::format("{}: sched_setaffinity to CPUs `{}`: {}{}", field,
                                cpus.empty() ? std::string("all") : cpus.text, std::strerror(err),
                                err == EINVAL ? " (none of them is online and allowed by the cgroup's cpuset)" : ""),
                    err);
    }
}

void set_memory_policy(const oci::MemoryPolicy& p) {
    const std::uint64_t* nodes = p.nodes.empty() ? nullptr : p.nodes.words.data();
    // maxnode counts one more than the bits passed (the kernel subtracts one).
    unsigned long maxnode = p.nodes.empty() ? 0 : p.nodes.words.size() * 64 + 1;
    if (::syscall(SYS_set_mempolicy, p.mode, nodes, maxnode) == 0) return;
    int err = errno;
    std::string what = fmt::format("linux.memoryPolicy: set_mempolicy {}{}", p.mode_name,
                                   p.nodes.empty() ? std::string() : " nodes `" + p.nodes.text + "`");
    if (err == ENOSYS)
        throw Error(what + ": this kernel has no NUMA support (" + std::strerror(err) + ")", err);
    if (err == EINVAL)
        throw Error(what + ": " + std::strerror(err) +
                        " (a node that has no memory or is outside the cgroup's cpuset.mems, or flags this kernel "
                        "refuses for the mode)",
                    err);
    throw_errno(what, err);
}

}  // namespace berth::runtime
