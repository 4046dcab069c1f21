// CPU affinity (process.execCPUAffinity) and the NUMA memory policy
// (linux.memoryPolicy) of a container process.
#pragma once
#include <sys/types.h>

#include "config/oci_spec.hpp"

namespace berth::runtime {

// sched_setaffinity of `pid` (0: the caller). An empty set means every CPU:
// the kernel narrows it to what the cgroup's cpuset allows (the spec's default
// for an empty `final`). Throws Error with errno naming `field`.
void set_cpu_affinity(pid_t pid, const oci::IdSet& cpus, const char* field);

// set_mempolicy of the calling thread, inherited by its children and kept
// across execve. ENOSYS (no NUMA in this kernel) and a refused node set are
// errors naming linux.memoryPolicy with the errno.
void set_memory_policy(const oci::MemoryPolicy& policy);

}  // namespace berth::runtime
