#include "runtime/sched_attrs.hpp"

#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

#include <fmt/format.h>

#include "common/error.hpp"

namespace berth::runtime {
namespace {

constexpr int kIoprioWhoProcess = 1;
constexpr int kIoprioClassShift = 13;

// The kernel's struct sched_attr, first version (SCHED_ATTR_SIZE_VER0): glibc
// 2.36 has no wrapper.
struct SchedAttr {
    std::uint32_t size;
    std::uint32_t sched_policy;
    std::uint64_t sched_flags;
    std::int32_t sched_nice;
    std::uint32_t sched_priority;
    std::uint64_t sched_runtime;
    std::uint64_t sched_deadline;
    std::uint64_t sched_period;
};
static_assert(sizeof(SchedAttr) == 48, "SCHED_ATTR_SIZE_VER0");

}  // namespace

void set_io_priority(const oci::IoPriority& prio) {
    const int value = (prio.io_class << kIoprioClassShift) | prio.priority;
    if (::syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, value) < 0)
        throw_errno(fmt::format("process.ioPriority: ioprio_set {} priority {}", prio.class_name, prio.priority));
}

void set_scheduler(const oci::Scheduler& sched) {
    SchedAttr attr{};
    attr.size = sizeof attr;
    attr.sched_policy = std::uint32_t(sched.policy);
    attr.sched_flags = sched.flag_bits;
    attr.sched_nice = sched.nice;
    attr.sched_priority = std::uint32_t(sched.priority);
    attr.sched_runtime = sched.runtime;
    attr.sched_deadline = sched.deadline;
    attr.sched_period = sched.period;
    if (::syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
        throw_errno(fmt::format("process.scheduler: sched_setattr {} (nice {}, priority {})", sched.policy_name,
                                sched.nice, sched.priority));
}

void set_personality(const oci::Personality& persona) {
    if (::personality(persona.persona) < 0)
        throw_errno(fmt::format("linux.personality: personality {}", persona.domain));
}

}  // namespace berth::runtime
