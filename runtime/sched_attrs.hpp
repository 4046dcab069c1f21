// The container process's scheduling and execution domain: I/O priority
// (ioprio_set), CPU scheduling policy (sched_setattr) and personality.
#pragma once
#include "config/oci_spec.hpp"

namespace berth::runtime {

// ioprio_set(IOPRIO_WHO_PROCESS, self). IOPRIO_CLASS_RT needs CAP_SYS_ADMIN
// (or CAP_SYS_NICE on newer kernels): call before capabilities are dropped.
void set_io_priority(const oci::IoPriority& prio);

// sched_setattr(self). Real-time policies and a lower nice need
// CAP_SYS_NICE: call before capabilities are dropped.
void set_scheduler(const oci::Scheduler& sched);

// personality(2). Last before exec, as it can change how exec behaves.
void set_personality(const oci::Personality& persona);

}  // namespace berth::runtime
