// linux.resources beyond memory/cpu/pids: the device list, blockIO, hugepage
// limits, unified; known fields cgroup v2 cannot honour are errors with their path.
#include <catch2/catch.hpp>

#include <functional>

#include "config/oci_resource_keys.hpp"
#include "config/oci_spec.hpp"
#include "spec_fixture.hpp"

using namespace berth::oci;
using nlohmann::json;

namespace {

std::vector<std::string> problems_with(const json& resources) {
    json j = minimal_config();
    j["linux"]["resources"] = resources;
    try {
        parse_spec(j, "config.json");
    } catch (const ConfigError& e) {
        return e.problems();
    }
    return {};
}

Resources parsed(const json& resources) {
    json j = minimal_config();
    j["linux"]["resources"] = resources;
    return *parse_spec(j, "config.json").linux_.resources;
}

}  // namespace

TEST_CASE("resources: devices, blockIO, hugepageLimits and unified are modelled") {
    Resources r = parsed(json::parse(R"({
      "devices": [{"allow": false, "access": "rwm"},
                  {"allow": true, "type": "c", "major": 10, "minor": 200, "access": "m"}],
      "blockIO": {"weight": 500, "weightDevice": [{"major": 8, "minor": 0, "weight": 100}],
                  "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                  "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 100}]},
      "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
      "unified": {"memory.high": "100000000"}})"));
    REQUIRE(r.devices.size() == 2);
    CHECK_FALSE(r.devices[0].allow);
    CHECK(r.devices[0].type == 'a');
    CHECK_FALSE(r.devices[0].major);
    CHECK(r.devices[1].type == 'c');
    CHECK(r.devices[1].major == 10);
    CHECK(r.devices[1].access == "m");
    REQUIRE(r.block_io);
    CHECK(r.block_io->weight == 500u);
    CHECK(r.block_io->weight_device.at(0).weight == 100u);
    CHECK(r.block_io->throttle_read_bps.at(0).rate == 1048576u);
    CHECK(r.block_io->throttle_write_iops.at(0).minor == 16);
    CHECK(r.hugepage_limits.at(0).page_size == "2MB");
    CHECK(r.unified.at("memory.high") == "100000000");
}

TEST_CASE("resources: bad values name their path; cgroup v1 knobs are parsed") {
    CHECK(problems_with(json::parse(R"({"devices": [{"allow": true, "type": "x", "access": "rwz"}]})")) ==
          std::vector<std::string>{"linux.resources.devices[0].type: expected \"a\", \"b\" or \"c\", got \"x\"",
                                   "linux.resources.devices[0].access: expected letters of \"rwm\", got \"rwz\""});
    CHECK(problems_with(json::parse(R"({"devices": [{"access": "r"}]})")) ==
          std::vector<std::string>{"linux.resources.devices[0].allow: required"});
    CHECK(problems_with(json::parse(R"({"blockIO": {"weight": 5, "leafWeight": 100}})")) ==
          std::vector<std::string>{"linux.resources.blockIO.weight: must be between 10 and 1000, got 5"});
    CHECK(problems_with(json::parse(R"({"blockIO": {"throttleReadBpsDevice": [{"major": 8, "minor": 0}]}})")) ==
          std::vector<std::string>{"linux.resources.blockIO.throttleReadBpsDevice[0].rate: required"});
    CHECK(problems_with(json::parse(R"({"hugepageLimits": [{"pageSize": "2M", "limit": 1}]})")) ==
          std::vector<std::string>{
              "linux.resources.hugepageLimits[0].pageSize: expected a size like \"2MB\" or \"1GB\", got \"2M\""});
    CHECK(problems_with(json::parse(R"({"unified": {"../x": "1", "cgroup.procs": "1"}})")).size() == 2);
    // cgroup v1 knobs are parsed; the cgroup back-end refuses them on a v2 host.
    CHECK(problems_with(json::parse(R"({"memory": {"swappiness": 10, "disableOOMKiller": true}})")).empty());
    CHECK(problems_with(json::parse(R"({"memory": {"swappiness": 101}})")) ==
          std::vector<std::string>{"linux.resources.memory.swappiness: must be between 0 and 100, got 101"});
    CHECK(problems_with(json::parse(R"({"memory": {"disableOOMKiller": false, "kernel": 1}})")).empty());
    CHECK(problems_with(json::parse(R"({"cpu": {"realtimeRuntime": 1, "idle": 2}})")) ==
          std::vector<std::string>{"linux.resources.cpu.idle: must be 0 or 1, got 2"});
    CHECK(problems_with(json::parse(R"({"network": {"classID": 1, "priorities": [{"name": "eth0", "priority": 5}]}})"))
              .empty());
    CHECK(problems_with(json::parse(R"({"network": {"priorities": [{"name": "eth0"}]}})")) ==
          std::vector<std::string>{"linux.resources.network.priorities[0].priority: required"});
}

TEST_CASE("linux.intelRdt is refused with the reason; an empty one is not") {
    json j = minimal_config();
    j["linux"]["intelRdt"] = json::object();
    CHECK_NOTHROW(parse_spec(j, "config.json"));
    j["linux"]["intelRdt"] = {{"closID", "x"}};
    std::vector<std::string> problems;
    try {
        parse_spec(j, "config.json");
    } catch (const ConfigError& e) {
        problems = e.problems();
    }
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].rfind("linux.intelRdt: not supported by berth: ", 0) == 0);
    CHECK(problems[0].find("resctrl") != std::string::npos);
}

namespace {

// Every key path of the table, with a value of the wrong type at its end.
void each_key(const std::vector<ResourceKey>& keys, const std::string& path,
              const std::function<json(const json&)>& wrap,
              std::vector<std::pair<std::string, json>>& out) {
    for (const auto& k : keys) {
        std::string p = path + "." + k.name;
        if (k.ignored) continue;
        json wrong = k.kind == ResourceKey::Kind::list_of_objects ? json::object() : json::array();
        out.push_back({p, wrap(json{{k.name, wrong}})});
        if (k.kind == ResourceKey::Kind::value) continue;
        bool list = k.kind == ResourceKey::Kind::list_of_objects;
        std::string name = k.name;
        each_key(k.children, list ? p + "[0]" : p,
                 [&wrap, name, list](const json& inner) {
                     return wrap(json{{name, list ? json::array({inner}) : inner}});
                 },
                 out);
    }
}

}  // namespace

TEST_CASE("resources: the key table names exactly what the model reads") {
    // A key of the table that the parser did not read would draw no problem for a
    // value of the wrong type: the table (which the builder checks YAML against)
    // would accept a key that PID 1 ignores.
    std::vector<std::pair<std::string, json>> cases;
    each_key(resource_keys(), "linux.resources", [](const json& j) { return j; }, cases);
    REQUIRE(cases.size() > 30);
    for (const auto& [path, resources] : cases) {
        INFO(path << ": " << resources.dump());
        bool named = false;
        for (const auto& p : problems_with(resources)) named |= p.rfind(path, 0) == 0;
        CHECK(named);
    }
}
