#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/fs.hpp"
#include "config/oci_spec.hpp"
#include "../temp_dir.hpp"

using namespace berth::oci;

namespace {

struct TempBundle {
    berth::test::TempDir tmp;
    const std::string dir{tmp.path()};
    void write(const std::string& text) { berth::fs::write_file(dir + "/config.json", text); }
};

}  // namespace

TEST_CASE("load_bundle reads config.json") {
    TempBundle b;
    b.write(R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},
               "process":{"args":["/bin/true"],"cwd":"/"}})");
    Spec s = load_bundle(b.dir);
    CHECK(s.process.args.at(0) == "/bin/true");
}

TEST_CASE("load_bundle hands back the bytes it read, unchanged") {
    TempBundle b;
    const std::string text = "{ \"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\"},\n"
                             "  \"process\": {\"args\": [\"/bin/true\"], \"cwd\": \"/\"}, \"x-extra\": [1, 2]}\n";
    b.write(text);
    std::string read;
    Spec s = load_bundle(b.dir, &read);
    CHECK(read == text);
    CHECK(s.process.args.at(0) == "/bin/true");
}

TEST_CASE("a JSON syntax error names the file, line, column, byte and reason") {
    TempBundle b;
    // nlohmann points at the end of the offending token: the second string.
    b.write("{\n  \"ociVersion\": \"1.0.2\",\n  \"root\": {\"path\" \"rootfs\"}\n}\n");
    try {
        load_bundle(b.dir);
        FAIL("expected ConfigError");
    } catch (const ConfigError& e) {
        std::string what = e.what();
        CHECK_THAT(what, Catch::StartsWith(b.dir + "/config.json: invalid JSON at line 3, column 26 (byte 53): "));
        CHECK_THAT(what, Catch::Contains("syntax error"));
    }
}

TEST_CASE("validation problems are prefixed with the config.json path") {
    TempBundle b;
    b.write(R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"cwd":"/"}})");
    CHECK_THROWS_WITH(load_bundle(b.dir), b.dir + "/config.json: process.args: required");
}

TEST_CASE("a missing config.json is an errno error") {
    try {
        load_bundle("/nonexistent-bundle");
        FAIL("expected Error");
    } catch (const berth::Error& e) {
        CHECK(e.code() == ENOENT);
        CHECK_THAT(std::string(e.what()), Catch::Contains("/nonexistent-bundle/config.json"));
    }
}
