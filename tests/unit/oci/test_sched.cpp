// process.ioPriority, process.scheduler and linux.personality: parsed into
// the kernel's values, and every invalid combination named by its JSON path.
#include <catch2/catch.hpp>

#include "config/oci_spec.hpp"
#include "spec_fixture.hpp"

using namespace berth::oci;
using nlohmann::json;

namespace {

std::vector<std::string> problems_of(const json& j) { return spec_problems(j); }

json with_process(const char* key, const json& value) {
    json j = minimal_config();
    j["process"][key] = value;
    return j;
}

std::vector<std::string> scheduler_problems(const json& sched) {
    return problems_of(with_process("scheduler", sched));
}

}  // namespace

TEST_CASE("ioPriority: class and priority become the kernel's values") {
    auto p = parse_spec(with_process("ioPriority", {{"class", "IOPRIO_CLASS_RT"}, {"priority", 3}}), "c")
                 .process.io_priority;
    REQUIRE(p);
    CHECK(p->io_class == 1);
    CHECK(p->priority == 3);
    CHECK(parse_spec(with_process("ioPriority", {{"class", "IOPRIO_CLASS_BE"}, {"priority", 0}}), "c")
              .process.io_priority->io_class == 2);
    CHECK(parse_spec(with_process("ioPriority", {{"class", "IOPRIO_CLASS_IDLE"}, {"priority", 7}}), "c")
              .process.io_priority->io_class == 3);
    CHECK_FALSE(parse_spec(minimal_config(), "c").process.io_priority);
}

TEST_CASE("ioPriority: bad class, out-of-range or missing priority") {
    CHECK(problems_of(with_process("ioPriority", {{"class", "IOPRIO_CLASS_NONE"}, {"priority", 1}})) ==
          std::vector<std::string>{"process.ioPriority.class: unknown I/O priority class \"IOPRIO_CLASS_NONE\" "
                                   "(expected IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE)"});
    CHECK(problems_of(with_process("ioPriority", {{"class", "IOPRIO_CLASS_BE"}, {"priority", 8}})) ==
          std::vector<std::string>{"process.ioPriority.priority: must be between 0 and 7, got 8"});
    CHECK(problems_of(with_process("ioPriority", {{"class", "IOPRIO_CLASS_BE"}, {"priority", -1}})) ==
          std::vector<std::string>{"process.ioPriority.priority: must be between 0 and 7, got -1"});
    CHECK(problems_of(with_process("ioPriority", {{"class", "IOPRIO_CLASS_BE"}})) ==
          std::vector<std::string>{"process.ioPriority.priority: required"});
}

TEST_CASE("scheduler: policies, flags and deadline parameters") {
    auto s = parse_spec(with_process("scheduler", {{"policy", "SCHED_RR"}, {"priority", 10},
                                                   {"flags", {"SCHED_FLAG_RESET_ON_FORK"}}}), "c")
                 .process.scheduler;
    REQUIRE(s);
    CHECK(s->policy == 2);
    CHECK(s->priority == 10);
    CHECK(s->flag_bits == 0x01);
    s = parse_spec(with_process("scheduler", {{"policy", "SCHED_BATCH"}, {"nice", 5}}), "c").process.scheduler;
    CHECK(s->policy == 3);
    CHECK(s->nice == 5);
    s = parse_spec(with_process("scheduler", {{"policy", "SCHED_DEADLINE"}, {"runtime", 10000},
                                              {"deadline", 20000}, {"period", 30000},
                                              {"flags", {"SCHED_FLAG_RECLAIM", "SCHED_FLAG_DL_OVERRUN"}}}), "c")
            .process.scheduler;
    CHECK(s->policy == 6);
    CHECK(s->runtime == 10000);
    CHECK(s->deadline == 20000);
    CHECK(s->period == 30000);
    CHECK(s->flag_bits == 0x06);
    CHECK(parse_spec(with_process("scheduler", {{"policy", "SCHED_IDLE"}}), "c").process.scheduler->policy == 5);
    CHECK(parse_spec(with_process("scheduler", {{"policy", "SCHED_OTHER"}}), "c").process.scheduler->policy == 0);
}

TEST_CASE("scheduler: every invalid field is named") {
    CHECK(scheduler_problems({{"policy", "SCHED_FAST"}}) ==
          std::vector<std::string>{"process.scheduler.policy: unknown scheduling policy \"SCHED_FAST\""});
    CHECK(scheduler_problems({{"policy", "SCHED_ISO"}}) ==
          std::vector<std::string>{"process.scheduler.policy: SCHED_ISO is not implemented by Linux"});
    CHECK(scheduler_problems({{"nice", 1}}) == std::vector<std::string>{"process.scheduler.policy: required"});
    CHECK(scheduler_problems({{"policy", "SCHED_OTHER"}, {"nice", 20}}) ==
          std::vector<std::string>{"process.scheduler.nice: must be between -20 and 19, got 20"});
    CHECK(scheduler_problems({{"policy", "SCHED_FIFO"}, {"priority", 100}}) ==
          std::vector<std::string>{"process.scheduler.priority: must be between 1 and 99 for SCHED_FIFO, got 100"});
    CHECK(scheduler_problems({{"policy", "SCHED_RR"}}) ==
          std::vector<std::string>{"process.scheduler.priority: required for SCHED_RR (1..99)"});
    CHECK(scheduler_problems({{"policy", "SCHED_RR"}, {"priority", nullptr}}) ==
          std::vector<std::string>{"process.scheduler.priority: required for SCHED_RR (1..99)"});
    CHECK(scheduler_problems({{"policy", "SCHED_OTHER"}, {"priority", 5}}) ==
          std::vector<std::string>{"process.scheduler.priority: only SCHED_FIFO and SCHED_RR take a priority, not SCHED_OTHER"});
    CHECK(scheduler_problems({{"policy", "SCHED_OTHER"}, {"flags", {"SCHED_FLAG_BOGUS"}}}) ==
          std::vector<std::string>{"process.scheduler.flags[0]: unknown scheduler flag \"SCHED_FLAG_BOGUS\""});
    CHECK(scheduler_problems({{"policy", "SCHED_OTHER"}, {"flags", {"SCHED_FLAG_UTIL_CLAMP_MIN"}}}) ==
          std::vector<std::string>{"process.scheduler.flags[0]: not supported by berth: SCHED_FLAG_UTIL_CLAMP_MIN "
                                   "needs a utilization value the spec does not carry"});
    CHECK(scheduler_problems({{"policy", "SCHED_FIFO"}, {"priority", 1}, {"runtime", 5000}, {"period", 9000}}) ==
          std::vector<std::string>{"process.scheduler.runtime: only SCHED_DEADLINE takes a runtime",
                                   "process.scheduler.period: only SCHED_DEADLINE takes a period"});
    CHECK(scheduler_problems({{"policy", "SCHED_DEADLINE"}, {"runtime", 100}}) ==
          std::vector<std::string>{"process.scheduler.runtime: must be at least 1024 ns for SCHED_DEADLINE, got 100",
                                   "process.scheduler.deadline: required (non-zero) for SCHED_DEADLINE"});
    CHECK(scheduler_problems({{"policy", "SCHED_DEADLINE"}, {"runtime", 30000}, {"deadline", 20000}, {"period", 10000}}) ==
          std::vector<std::string>{"process.scheduler.runtime: runtime 30000 exceeds deadline 20000",
                                   "process.scheduler.deadline: deadline 20000 exceeds period 10000"});
    CHECK(scheduler_problems({{"policy", "SCHED_OTHER"}, {"nice", "high"}}).size() == 1);
}

TEST_CASE("personality: LINUX and LINUX32, no flags") {
    json j = minimal_config();
    j["linux"]["personality"] = {{"domain", "LINUX32"}};
    auto p = parse_spec(j, "c").linux_.personality;
    REQUIRE(p);
    CHECK(p->persona == 0x0008);
    j["linux"]["personality"] = {{"domain", "LINUX"}, {"flags", json::array()}};
    CHECK(parse_spec(j, "c").linux_.personality->persona == 0);
    j["linux"]["personality"] = {{"domain", "LINUX64"}};
    CHECK(problems_of(j) == std::vector<std::string>{"linux.personality.domain: unknown execution domain "
                                                     "\"LINUX64\" (expected LINUX or LINUX32)"});
    j["linux"]["personality"] = {{"domain", "LINUX"}, {"flags", {"ADDR_NO_RANDOMIZE"}}};
    CHECK(problems_of(j) == std::vector<std::string>{"linux.personality.flags: the spec defines no personality flags"});
    j["linux"]["personality"] = json::object();
    CHECK(problems_of(j) == std::vector<std::string>{"linux.personality.domain: required"});
}

TEST_CASE("a standalone process (exec --process) takes the same fields") {
    json p = minimal_config()["process"];
    p["ioPriority"] = {{"class", "IOPRIO_CLASS_BE"}, {"priority", 9}};
    CHECK_THROWS_WITH(parse_process(p, "process.json"),
                      Catch::Contains("ioPriority.priority: must be between 0 and 7, got 9"));
}
