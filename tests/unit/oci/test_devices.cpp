// linux.devices: each node's fields, and every invalid one named by its JSON path.
#include <catch2/catch.hpp>

#include "config/oci_spec.hpp"
#include "spec_fixture.hpp"

using namespace berth::oci;
using nlohmann::json;

namespace {

json with_devices(const json& devices) {
    json j = minimal_config();
    j["linux"]["devices"] = devices;
    return j;
}

std::vector<std::string> problems_of(const json& devices) { return spec_problems(with_devices(devices)); }

}  // namespace

TEST_CASE("linux.devices: nodes with numbers, mode and owner; FIFOs without numbers") {
    auto d = parse_spec(with_devices({{{"type", "c"}, {"path", "/dev/fuse"}, {"major", 10}, {"minor", 229},
                                       {"fileMode", 0600}, {"uid", 1000}, {"gid", 1001}},
                                      {{"type", "b"}, {"path", "/dev/disk/loop7"}, {"major", 7}, {"minor", 7}},
                                      {{"type", "p"}, {"path", "/dev/pipe"}}}),
                        "c")
                 .linux_.devices;
    REQUIRE(d.size() == 3);
    CHECK(d[0].type == 'c');
    CHECK(d[0].major == 10);
    CHECK(d[0].minor == 229);
    CHECK(d[0].file_mode == 0600u);
    CHECK(d[0].uid == 1000u);
    CHECK(d[0].gid == 1001u);
    CHECK(d[1].type == 'b');
    CHECK(d[1].path == "/dev/disk/loop7");
    CHECK_FALSE(d[1].file_mode);
    CHECK(d[2].type == 'p');
    CHECK(parse_spec(with_devices({{{"type", "u"}, {"path", "/dev/x"}, {"major", 1}, {"minor", 3}}}), "c")
              .linux_.devices[0]
              .type == 'u');
}

TEST_CASE("linux.devices: every invalid field is named") {
    CHECK(problems_of({{{"type", "x"}, {"path", "/dev/a"}, {"major", 1}, {"minor", 1}}}) ==
          std::vector<std::string>{"linux.devices[0].type: unknown device type \"x\" (expected c, b, u or p)"});
    CHECK(problems_of({{{"type", "c"}, {"path", "/dev/a"}}}) ==
          std::vector<std::string>{"linux.devices[0].major: required", "linux.devices[0].minor: required"});
    CHECK(problems_of({{{"type", "c"}, {"path", "/dev/a"}, {"major", 5000}, {"minor", -1}}}) ==
          std::vector<std::string>{"linux.devices[0].major: must be between 0 and 4095, got 5000",
                                   "linux.devices[0].minor: must be between 0 and 1048575, got -1"});
    CHECK(problems_of({{{"type", "c"}, {"path", "/dev/a"}, {"major", 1}, {"minor", 3}, {"fileMode", 010000}}}) ==
          std::vector<std::string>{"linux.devices[0].fileMode: must be permission bits (at most 07777), or those "
                                   "with the device's file type, got 10000"});
    // podman's st_mode, type bits included: taken when the type is the device's.
    CHECK(problems_of({{{"type", "c"}, {"path", "/dev/a"}, {"major", 1}, {"minor", 3}, {"fileMode", 020666}}}).empty());
    CHECK(problems_of({{{"type", "b"}, {"path", "/dev/a"}, {"major", 1}, {"minor", 3}, {"fileMode", 060600}}}).empty());
    CHECK(problems_of({{{"type", "b"}, {"path", "/dev/a"}, {"major", 1}, {"minor", 3}, {"fileMode", 020600}}}).size() == 1);
    CHECK(problems_of({{{"type", "p"}}}) == std::vector<std::string>{"linux.devices[0].path: required"});
    for (const char* bad : {"/etc/passwd", "/dev/", "/dev", "dev/null", "/dev/../etc/shadow", "/dev/./x", "/dev/a/"})
        CHECK(problems_of({{{"type", "p"}, {"path", bad}}}) ==
              std::vector<std::string>{std::string("linux.devices[0].path: must be a path below /dev without . or .. "
                                                   "components, got \"") + bad + "\""});
    CHECK(problems_of({{{"type", "p"}, {"path", "/dev/a"}}, {{"type", "p"}, {"path", "/dev/a"}}}) ==
          std::vector<std::string>{"linux.devices[1]: device \"/dev/a\" listed twice"});
}

// linux.timeOffsets lives with the other /dev-and-namespace fields of linux.
TEST_CASE("linux.timeOffsets: the two clocks, with a new time namespace only") {
    json j = minimal_config();
    j["linux"]["namespaces"].push_back({{"type", "time"}});
    j["linux"]["timeOffsets"] = {{"monotonic", {{"secs", 86400}, {"nanosecs", 5}}}, {"boottime", {{"secs", -10}}}};
    auto offsets = parse_spec(j, "c").linux_.time_offsets;
    REQUIRE(offsets.size() == 2);
    CHECK(offsets["monotonic"].secs == 86400);
    CHECK(offsets["monotonic"].nanosecs == 5u);
    CHECK(offsets["boottime"].secs == -10);

    j["linux"]["timeOffsets"] = {{"realtime", {{"secs", 1}}}, {"boottime", {{"nanosecs", 1000000000}}}};
    std::vector<std::string> problems;
    try {
        parse_spec(j, "config.json");
    } catch (const ConfigError& e) {
        problems = e.problems();
    }
    CHECK(problems == std::vector<std::string>{
                          "linux.timeOffsets.boottime.nanosecs: must be below 1000000000, got 1000000000",
                          "linux.timeOffsets.realtime: unknown clock \"realtime\" (expected monotonic or boottime)"});

    json k = minimal_config();
    k["linux"]["timeOffsets"] = {{"monotonic", {{"secs", 1}}}};
    CHECK_THROWS_WITH(parse_spec(k, "config.json"),
                      Catch::Contains("linux.timeOffsets: requires a new time namespace"));
    k["linux"]["namespaces"].push_back({{"type", "time"}, {"path", "/proc/1/ns/time"}});
    CHECK_THROWS_WITH(parse_spec(k, "config.json"),
                      Catch::Contains("linux.timeOffsets: requires a new time namespace"));
}
