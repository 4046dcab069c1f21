// Idmapped mounts, process.execCPUAffinity, linux.memoryPolicy and the LSM
// fields: parsed into what the runtime applies, every mistake named by path.
#include <catch2/catch.hpp>

#include "config/oci_spec.hpp"
#include "spec_fixture.hpp"

using namespace berth::oci;
using nlohmann::json;

namespace {

std::vector<std::string> problems_of(const json& j) { return spec_problems(j); }

json map1(unsigned c, unsigned h, unsigned n) { return json::array({{{"containerID", c}, {"hostID", h}, {"size", n}}}); }

json with_mount(const json& m) {
    json j = minimal_config();
    j["mounts"] = json::array({m});
    return j;
}

json bind_mount(std::vector<std::string> options) {
    return {{"destination", "/data"}, {"type", "bind"}, {"source", "/srv"}, {"options", options}};
}

json with_userns(json j) {
    j["linux"]["namespaces"].push_back({{"type", "user"}});
    j["linux"]["uidMappings"] = map1(0, 100000, 65536);
    j["linux"]["gidMappings"] = map1(0, 200000, 65536);
    return j;
}

}  // namespace

TEST_CASE("idmap: the mount's own mappings, non-recursive unless ridmap") {
    json m = bind_mount({"rbind", "ridmap"});
    m["uidMappings"] = map1(0, 1000, 10);
    m["gidMappings"] = map1(0, 2000, 10);
    Mount got = parse_spec(with_mount(m), "c").mounts.at(0);
    CHECK(got.idmap == IdmapMode::recursive);
    REQUIRE(got.uid_mappings.size() == 1);
    CHECK(got.uid_mappings[0].host_id == 1000);
    CHECK(got.gid_mappings.at(0).host_id == 2000);

    m["options"] = {"bind"};  // mappings without the option: still idmapped (the option is a SHOULD)
    CHECK(parse_spec(with_mount(m), "c").mounts.at(0).idmap == IdmapMode::single);
    CHECK(parse_spec(minimal_config(), "c").mounts.empty());
}

TEST_CASE("idmap: a bare option takes the container's user namespace mappings") {
    Mount got = parse_spec(with_userns(with_mount(bind_mount({"bind", "idmap"}))), "c").mounts.at(0);
    CHECK(got.idmap == IdmapMode::single);
    CHECK(got.uid_mappings.at(0).host_id == 100000);
    CHECK(got.gid_mappings.at(0).host_id == 200000);
    CHECK(problems_of(with_mount(bind_mount({"bind", "idmap"}))) ==
          std::vector<std::string>{"mounts[0].options[1]: without uidMappings/gidMappings on the mount it needs the "
                                   "container's user namespace mappings (linux.uidMappings and linux.gidMappings)"});
}

TEST_CASE("idmap: crun's idmap=uids=...;gids=... form, absolute and relative (@)") {
    Mount got = parse_spec(with_userns(with_mount(bind_mount({"bind", "idmap=uids=0-1-10#10-11-10;gids=@5-7-3"}))), "c")
                    .mounts.at(0);
    REQUIRE(got.uid_mappings.size() == 2);
    CHECK(got.uid_mappings[1].container_id == 10);
    CHECK(got.uid_mappings[1].host_id == 11);
    CHECK(got.uid_mappings[1].size == 10);
    REQUIRE(got.gid_mappings.size() == 1);
    CHECK(got.gid_mappings[0].container_id == 5);
    CHECK(got.gid_mappings[0].host_id == 200007);  // container gid 7 is host 200007

    CHECK(problems_of(with_mount(bind_mount({"bind", "idmap=uids=0-1"}))) ==
          std::vector<std::string>{"mounts[0].options[1]: \"uids=0-1\": expected FSID-HOSTID-SIZE, got \"0-1\""});
    CHECK(problems_of(with_mount(bind_mount({"bind", "idmap=uids=0-1-1"}))) ==
          std::vector<std::string>{"mounts[0].options[1]: needs both uids=... and gids=..."});
    CHECK(problems_of(with_mount(bind_mount({"bind", "idmap=uids=@0-1-1;gids=0-1-1"}))) ==
          std::vector<std::string>{"mounts[0].options[1]: \"uids=@0-1-1\": a relative (@) mapping needs "
                                   "linux.uidMappings/gidMappings"});
    CHECK(problems_of(with_mount(bind_mount({"bind", "idmap=users=0-1-1"}))) ==
          std::vector<std::string>{"mounts[0].options[1]: expected uids=... or gids=..., got \"users=0-1-1\""});
}

TEST_CASE("idmap: mistakes named by their path") {
    json m = bind_mount({"bind"});
    m["uidMappings"] = map1(0, 1000, 10);
    CHECK(problems_of(with_mount(m)) ==
          std::vector<std::string>{"mounts[0].gidMappings: required: uidMappings and gidMappings are given together"});
    m["gidMappings"] = map1(0, 1000, 0);
    CHECK(problems_of(with_mount(m)) == std::vector<std::string>{"mounts[0].gidMappings[0].size: must not be 0"});
    json t = {{"destination", "/t"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"idmap"}}};
    CHECK(problems_of(with_userns(with_mount(t))) ==
          std::vector<std::string>{"mounts[0]: idmapped mounts are supported on bind mounts only (type \"tmpfs\")"});
    m = bind_mount({"bind", "idmap=uids=0-1-1;gids=0-1-1"});
    m["uidMappings"] = map1(0, 1, 1);
    m["gidMappings"] = map1(0, 1, 1);
    CHECK(problems_of(with_mount(m)) ==
          std::vector<std::string>{
              "mounts[0].options[1]: a mapping in the option and uidMappings/gidMappings on the mount: give one"});
    // Options that only start like idmap are not idmap.
    CHECK(parse_spec(with_mount(bind_mount({"bind", "idmapped"})), "c").mounts.at(0).idmap == IdmapMode::none);
}

TEST_CASE("CPU and node lists") {
    IdSet s = parse_id_set("0-2,5,64", 8192);
    REQUIRE(s.words.size() == 2);
    CHECK(s.words[0] == 0x27);
    CHECK(s.words[1] == 1);
    CHECK(parse_id_set("", 8).empty());
    for (const char* bad : {"1-", "-1", "3-1", "0,,1", "a", "0 ,1", "8"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_id_set(bad, 8), std::invalid_argument);
    }
}

TEST_CASE("execCPUAffinity: initial and final, bad lists named by path") {
    json j = minimal_config();
    j["process"]["execCPUAffinity"] = {{"initial", "0"}, {"final", "0-1"}};
    auto a = parse_spec(j, "c").process.exec_cpu_affinity;
    REQUIRE(a);
    CHECK(a->initial.words == std::vector<std::uint64_t>{1});
    CHECK(a->final.words == std::vector<std::uint64_t>{3});
    j["process"]["execCPUAffinity"] = {{"final", "1-0"}};
    CHECK(problems_of(j) ==
          std::vector<std::string>{"process.execCPUAffinity.final: invalid list \"1-0\": range 1-0 runs backwards"});
    j["process"]["execCPUAffinity"] = {{"initial", "0;1"}};
    CHECK(problems_of(j) == std::vector<std::string>{"process.execCPUAffinity.initial: invalid list \"0;1\": "
                                                     "unexpected `;` at offset 1 of \"0;1\""});
}

TEST_CASE("memoryPolicy: mode, nodes and flags become set_mempolicy's arguments") {
    json j = minimal_config();
    j["linux"]["memoryPolicy"] = {{"mode", "MPOL_BIND"}, {"nodes", "0-1"}, {"flags", {"MPOL_F_STATIC_NODES"}}};
    auto p = parse_spec(j, "c").linux_.memory_policy;
    REQUIRE(p);
    CHECK(p->mode == (2 | (1 << 15)));
    CHECK(p->nodes.words == std::vector<std::uint64_t>{3});
    j["linux"]["memoryPolicy"] = {{"mode", "MPOL_WEIGHTED_INTERLEAVE"}, {"nodes", "0"}};
    CHECK(parse_spec(j, "c").linux_.memory_policy->mode == 6);
    j["linux"]["memoryPolicy"] = {{"mode", "MPOL_PREFERRED"}};
    CHECK(parse_spec(j, "c").linux_.memory_policy->nodes.empty());

    auto problems = [&](const json& mp) {
        json k = minimal_config();
        k["linux"]["memoryPolicy"] = mp;
        return problems_of(k);
    };
    CHECK(problems({{"nodes", "0"}}) == std::vector<std::string>{"linux.memoryPolicy.mode: required"});
    CHECK(problems({{"mode", "MPOL_FAST"}}) ==
          std::vector<std::string>{"linux.memoryPolicy.mode: unknown mode \"MPOL_FAST\""});
    CHECK(problems({{"mode", "MPOL_BIND"}}) ==
          std::vector<std::string>{"linux.memoryPolicy.nodes: required with MPOL_BIND"});
    CHECK(problems({{"mode", "MPOL_LOCAL"}, {"nodes", "0"}}) ==
          std::vector<std::string>{"linux.memoryPolicy.nodes: must be empty with MPOL_LOCAL"});
    CHECK(problems({{"mode", "MPOL_DEFAULT"}, {"flags", {"MPOL_F_NUMA_BALANCING"}}}) ==
          std::vector<std::string>{"linux.memoryPolicy.flags: must be empty with MPOL_DEFAULT"});
    CHECK(problems({{"mode", "MPOL_BIND"}, {"nodes", "0"}, {"flags", {"MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"}}}) ==
          std::vector<std::string>{
              "linux.memoryPolicy.flags: MPOL_F_RELATIVE_NODES and MPOL_F_STATIC_NODES exclude each other"});
    CHECK(problems({{"mode", "MPOL_BIND"}, {"nodes", "0"}, {"flags", {"MPOL_F_FAST"}}}) ==
          std::vector<std::string>{"linux.memoryPolicy.flags[0]: unknown flag \"MPOL_F_FAST\""});
    CHECK(problems({{"mode", "MPOL_BIND"}, {"nodes", "1024"}}) ==
          std::vector<std::string>{
              "linux.memoryPolicy.nodes: invalid list \"1024\": 1024 is above the largest possible id 1023"});
}

TEST_CASE("LSM fields are read as strings; a wrong type is named by path") {
    json j = minimal_config();
    j["process"]["apparmorProfile"] = "berth-test";
    j["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0";
    j["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0";
    Spec s = parse_spec(j, "c");
    CHECK(s.process.apparmor_profile == "berth-test");
    CHECK(s.process.selinux_label == "system_u:system_r:container_t:s0");
    CHECK(s.linux_.mount_label == "system_u:object_r:container_file_t:s0");
    j["process"]["apparmorProfile"] = 3;
    CHECK(problems_of(j) == std::vector<std::string>{"process.apparmorProfile: expected string, got number 3"});
}
