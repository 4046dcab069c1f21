#include <catch2/catch.hpp>

#include "config/oci_spec.hpp"
#include "spec_fixture.hpp"

using namespace berth::oci;
using nlohmann::json;

namespace {

const std::string kSrc = "/containers/services/web/config.json";

// The problems reported for j ("path: reason" each), or {} when it is valid.
std::vector<std::string> problems_of(const json& j) { return spec_problems(j, kSrc); }

std::string single_problem(const json& j) {
    auto p = problems_of(j);
    REQUIRE(p.size() == 1);
    return p[0];
}

}  // namespace

TEST_CASE("wrong types name the JSON path and both types") {
    json j = minimal_config();
    j["process"]["args"] = {1};
    CHECK(single_problem(j) == "process.args[0]: expected string, got number 1");
    j = minimal_config();
    j["root"]["readonly"] = "yes";
    CHECK(single_problem(j) == "root.readonly: expected boolean, got string");
    j = minimal_config();
    j["mounts"] = {{"destination", "/x"}};
    CHECK(single_problem(j) == "mounts: expected array, got object");
    j = minimal_config();
    j["process"]["user"]["uid"] = 1.5;
    CHECK(single_problem(j) == "process.user.uid: expected unsigned 32-bit integer, got number 1.5");
    j = minimal_config();
    j["annotations"] = {{"a", 1}};
    CHECK(single_problem(j) == "annotations.a: expected string, got number 1");
}

TEST_CASE("out of range integers are errors") {
    json j = minimal_config();
    j["process"]["user"]["uid"] = -1;
    CHECK(single_problem(j) == "process.user.uid: value -1 out of range for unsigned 32-bit integer");
    j = minimal_config();
    j["process"]["user"]["gid"] = 4294967296LL;
    CHECK(single_problem(j) == "process.user.gid: value 4294967296 out of range for unsigned 32-bit integer");
    j = minimal_config();
    j["process"]["oomScoreAdj"] = 1001;
    CHECK(single_problem(j) == "process.oomScoreAdj: must be between -1000 and 1000, got 1001");
}

TEST_CASE("required members") {
    json j = minimal_config();
    j["process"].erase("args");
    CHECK(single_problem(j) == "process.args: required");
    j = minimal_config();
    j.erase("root");
    CHECK(single_problem(j) == "root: required");
    j = minimal_config();
    j["process"]["args"] = json::array();
    CHECK(single_problem(j) == "process.args: must not be empty");
    j = minimal_config();
    j["mounts"] = {{{"type", "proc"}}};
    CHECK(single_problem(j) == "mounts[0].destination: required");
    j = minimal_config();
    j["process"]["user"] = json::object();
    CHECK(problems_of(j) == std::vector<std::string>{"process.user.uid: required", "process.user.gid: required"});
}

TEST_CASE("unknown names are errors") {
    json j = minimal_config();
    j["linux"]["namespaces"] = {{{"type", "pid"}}, {{"type", "mount"}}, {{"type", "foo"}}};
    CHECK(single_problem(j) == "linux.namespaces[2].type: unknown namespace \"foo\"");
    j = minimal_config();
    j["process"]["capabilities"] = {{"bounding", {"CAP_CHOWN", "CAP_FLY"}}};
    CHECK(single_problem(j) == "process.capabilities.bounding[1]: unknown capability \"CAP_FLY\"");
    j = minimal_config();
    j["process"]["capabilities"] = {{"ambient", {"cap_chown"}}};
    CHECK(single_problem(j) == "process.capabilities.ambient[0]: unknown capability \"cap_chown\"");
    j = minimal_config();
    j["process"]["rlimits"] = {{{"type", "RLIMIT_BOGUS"}, {"hard", 1}, {"soft", 1}}};
    CHECK(single_problem(j) == "process.rlimits[0].type: unknown rlimit \"RLIMIT_BOGUS\"");
    j = minimal_config();
    j["linux"]["rootfsPropagation"] = "sideways";
    CHECK(single_problem(j) == "linux.rootfsPropagation: unknown propagation \"sideways\"");
}

TEST_CASE("semantic checks") {
    json j = minimal_config();
    j["process"]["cwd"] = "srv";
    CHECK(single_problem(j) == "process.cwd: must be an absolute path, got \"srv\"");
    j = minimal_config();
    j["process"]["env"] = {"PATH=/bin", "BROKEN"};
    CHECK(single_problem(j) == "process.env[1]: expected NAME=value, got \"BROKEN\"");
    j = minimal_config();
    j["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"hard", 1}, {"soft", 2}}};
    CHECK(single_problem(j) == "process.rlimits[0]: soft limit 2 is above hard limit 1");
    j = minimal_config();
    j["linux"]["namespaces"] = {{{"type", "pid"}}, {{"type", "pid"}}};
    CHECK(single_problem(j) == "linux.namespaces: namespace \"pid\" listed twice");
    j = minimal_config();
    j["linux"]["namespaces"].push_back({{"type", "user"}});
    CHECK(problems_of(j) == std::vector<std::string>{"linux.uidMappings: required with a new user namespace",
                                                     "linux.gidMappings: required with a new user namespace"});
    j = minimal_config();
    j["hostname"] = "web";
    CHECK(single_problem(j) == "hostname: requires a uts namespace in linux.namespaces");
    j["linux"]["namespaces"].push_back({{"type", "uts"}, {"path", "/proc/1/ns/uts"}});
    CHECK(problems_of(j).empty());  // joined by path: runc sets the hostname there too
    j = minimal_config();
    j["ociVersion"] = "invalid";
    CHECK(single_problem(j) == "ociVersion: expected a version like \"1.0.2\", got \"invalid\"");
    for (const char* ok : {"1.0.0", "1.2.1-dev", "1.0.0-rc.1+build.5"}) {
        j["ociVersion"] = ok;
        CHECK(problems_of(j).empty());
    }
    for (const char* bad : {"1.0", "1.0.0-", "v1.0.0", "1..0"}) {
        j["ociVersion"] = bad;
        CHECK(problems_of(j).size() == 1);
    }
    j = minimal_config();
    j["linux"]["maskedPaths"] = {"/ok", "relative"};
    CHECK(single_problem(j) == "linux.maskedPaths[1]: must be an absolute path, got \"relative\"");
}

TEST_CASE("the top level must be an object") {
    CHECK(single_problem(json::array()) == "expected object, got array");
}

TEST_CASE("every problem is reported at once, each prefixed with the source") {
    json j = minimal_config();
    j["process"]["args"] = {"ok", 7};
    j["process"].erase("cwd");
    j["linux"]["namespaces"] = {{{"type", "mount"}}, {{"type", "pid"}}, {{"type", "foo"}}};
    j["root"]["path"] = 3;
    try {
        parse_spec(j, kSrc);
        FAIL("expected ConfigError");
    } catch (const ConfigError& e) {
        CHECK(e.problems().size() == 4);
        CHECK(e.source() == kSrc);
        CHECK(e.code() == EINVAL);
        std::string what = e.what();
        CHECK_THAT(what, Catch::Contains(kSrc + ": process.args[1]: expected string, got number 7"));
        CHECK_THAT(what, Catch::Contains(kSrc + ": process.cwd: required"));
        CHECK_THAT(what, Catch::Contains(kSrc + ": linux.namespaces[2].type: unknown namespace \"foo\""));
        CHECK_THAT(what, Catch::Contains(kSrc + ": root.path: expected string, got number 3"));
        // One line, in document-model order, for the line-oriented console log.
        CHECK(what == kSrc + ": root.path: expected string, got number 3; " + kSrc +
                          ": process.args[1]: expected string, got number 7; " + kSrc +
                          ": process.cwd: required; " + kSrc +
                          ": linux.namespaces[2].type: unknown namespace \"foo\"");
    }
}

TEST_CASE("ConfigError is a berth::Error") {
    json j = minimal_config();
    j.erase("ociVersion");
    CHECK_THROWS_AS(parse_spec(j, kSrc), berth::Error);
    CHECK_THROWS_WITH(parse_spec(j, kSrc), kSrc + ": ociVersion: required");
}
