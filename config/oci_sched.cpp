// Parser for the spec's per-process scheduling and execution-domain fields:
// process.ioPriority, process.scheduler and linux.personality. The numbers
// are the kernel's ABI values, written out so validation needs no kernel header.
#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "config/json_reader.hpp"
#include "config/oci_spec.hpp"

namespace berth::oci::detail {
namespace {

constexpr std::pair<std::string_view, int> kIoClasses[] = {
    {"IOPRIO_CLASS_RT", 1}, {"IOPRIO_CLASS_BE", 2}, {"IOPRIO_CLASS_IDLE", 3}};

constexpr int kSchedOther = 0, kSchedFifo = 1, kSchedRr = 2, kSchedDeadline = 6;
constexpr std::pair<std::string_view, int> kPolicies[] = {
    {"SCHED_OTHER", kSchedOther}, {"SCHED_FIFO", kSchedFifo}, {"SCHED_RR", kSchedRr},
    {"SCHED_BATCH", 3},           {"SCHED_IDLE", 5},          {"SCHED_DEADLINE", kSchedDeadline}};

constexpr std::pair<std::string_view, std::uint64_t> kSchedFlags[] = {
    {"SCHED_FLAG_RESET_ON_FORK", 0x01}, {"SCHED_FLAG_RECLAIM", 0x02},
    {"SCHED_FLAG_DL_OVERRUN", 0x04},    {"SCHED_FLAG_KEEP_POLICY", 0x08},
    {"SCHED_FLAG_KEEP_PARAMS", 0x10}};

// The kernel refuses a SCHED_DEADLINE runtime below 2^10 ns.
constexpr std::uint64_t kMinDeadlineRuntime = 1024;

template <class T, size_t N>
const T* lookup(const std::pair<std::string_view, T> (&table)[N], std::string_view name) {
    for (const auto& [n, v] : table)
        if (n == name) return &v;
    return nullptr;
}

}  // namespace

bool parse(Reader& r, const json& v, const std::string& path, IoPriority& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    if (field(r, v, path, "class", out.class_name, true)) {
        if (const int* c = lookup(kIoClasses, out.class_name))
            out.io_class = *c;
        else
            r.problem(member_path(path, "class"),
                      fmt::format("unknown I/O priority class \"{}\" (expected IOPRIO_CLASS_RT, "
                                  "IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE)", out.class_name));
    }
    if (field(r, v, path, "priority", out.priority, true) && (out.priority < 0 || out.priority > 7))
        r.problem(member_path(path, "priority"), fmt::format("must be between 0 and 7, got {}", out.priority));
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, Scheduler& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    bool known_policy = false;
    if (field(r, v, path, "policy", out.policy_name, true)) {
        if (const int* p = lookup(kPolicies, out.policy_name)) {
            out.policy = *p;
            known_policy = true;
        } else if (out.policy_name == "SCHED_ISO") {
            r.problem(member_path(path, "policy"), "SCHED_ISO is not implemented by Linux");
        } else {
            r.problem(member_path(path, "policy"), fmt::format("unknown scheduling policy \"{}\"", out.policy_name));
        }
    }
    if (field(r, v, path, "nice", out.nice) && (out.nice < -20 || out.nice > 19))
        r.problem(member_path(path, "nice"), fmt::format("must be between -20 and 19, got {}", out.nice));
    const bool realtime = out.policy == kSchedFifo || out.policy == kSchedRr;
    if (field(r, v, path, "priority", out.priority) && known_policy) {
        if (realtime && (out.priority < 1 || out.priority > 99))
            r.problem(member_path(path, "priority"),
                      fmt::format("must be between 1 and 99 for {}, got {}", out.policy_name, out.priority));
        else if (!realtime && out.priority != 0)
            r.problem(member_path(path, "priority"),
                      fmt::format("only SCHED_FIFO and SCHED_RR take a priority, not {}", out.policy_name));
    } else if (known_policy && realtime && !r.member(v, path, "priority", false)) {
        r.problem(member_path(path, "priority"), fmt::format("required for {} (1..99)", out.policy_name));
    }
    if (field(r, v, path, "flags", out.flags)) {
        for (size_t i = 0; i < out.flags.size(); ++i) {
            if (const std::uint64_t* f = lookup(kSchedFlags, out.flags[i]))
                out.flag_bits |= *f;
            else if (out.flags[i] == "SCHED_FLAG_UTIL_CLAMP_MIN" || out.flags[i] == "SCHED_FLAG_UTIL_CLAMP_MAX")
                r.problem(index_path(member_path(path, "flags"), i),
                          fmt::format("not supported by berth: {} needs a utilization value the spec does not carry",
                                      out.flags[i]));
            else
                r.problem(index_path(member_path(path, "flags"), i),
                          fmt::format("unknown scheduler flag \"{}\"", out.flags[i]));
        }
    }
    bool has_runtime = field(r, v, path, "runtime", out.runtime);
    bool has_deadline = field(r, v, path, "deadline", out.deadline);
    bool has_period = field(r, v, path, "period", out.period);
    if (!known_policy) return true;
    if (out.policy != kSchedDeadline) {
        for (auto [key, set] : {std::pair{"runtime", has_runtime}, {"deadline", has_deadline}, {"period", has_period}})
            if (set)
                r.problem(member_path(path, key), fmt::format("only SCHED_DEADLINE takes a {}", key));
        return true;
    }
    // The kernel's own checks (sched_setattr(2)), reported before launch.
    if (out.runtime < kMinDeadlineRuntime)
        r.problem(member_path(path, "runtime"),
                  fmt::format("must be at least {} ns for SCHED_DEADLINE, got {}", kMinDeadlineRuntime, out.runtime));
    if (out.deadline == 0)
        r.problem(member_path(path, "deadline"), "required (non-zero) for SCHED_DEADLINE");
    else if (out.runtime > out.deadline)
        r.problem(member_path(path, "runtime"),
                  fmt::format("runtime {} exceeds deadline {}", out.runtime, out.deadline));
    if (out.period != 0 && out.deadline > out.period)
        r.problem(member_path(path, "deadline"),
                  fmt::format("deadline {} exceeds period {}", out.deadline, out.period));
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, Personality& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    if (field(r, v, path, "domain", out.domain, true)) {
        if (out.domain == "LINUX")
            out.persona = 0x0000;  // PER_LINUX
        else if (out.domain == "LINUX32")
            out.persona = 0x0008;  // PER_LINUX32
        else
            r.problem(member_path(path, "domain"),
                      fmt::format("unknown execution domain \"{}\" (expected LINUX or LINUX32)", out.domain));
    }
    std::vector<std::string> flags;
    if (field(r, v, path, "flags", flags) && !flags.empty())
        r.problem(member_path(path, "flags"), "the spec defines no personality flags");
    return true;
}

}  // namespace berth::oci::detail
