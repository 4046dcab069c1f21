// The JSON files PID 1 reads from the image: bounded in size and depth, and
// read without blocking whatever the path holds.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "common/fs.hpp"
#include "config/image_config.hpp"
#include "config/json_document.hpp"
#include "config/oci_spec.hpp"
#include "config/service_policy.hpp"
#include "../temp_dir.hpp"

using namespace berth;
using Catch::Matchers::Contains;

namespace {

struct Dir {
    berth::test::TempDir tmp;
    const std::string path{tmp.path()};
};

std::string nested(int depth) { return std::string(std::size_t(depth), '[') + std::string(std::size_t(depth), ']'); }

}  // namespace

TEST_CASE("json document: nesting is measured outside strings, without recursion", "[json-document]") {
    CHECK(config::json_nesting_depth("{}") == 1);
    CHECK(config::json_nesting_depth(R"({"a": [1, {"b": "[[[[\"]]"}]})") == 3);
    CHECK(config::json_nesting_depth(nested(1000000)) == 1000000);
    std::string why;
    CHECK(config::parse_bounded_json(nested(config::kMaxJsonDepth), why));
    CHECK_FALSE(config::parse_bounded_json(nested(config::kMaxJsonDepth + 1), why));
    CHECK(why == "nested deeper than 64 levels");
    CHECK_FALSE(config::parse_bounded_json("{", why));
    CHECK(why == "not valid JSON");
    CHECK_THROWS_WITH(config::parse_image_config_text("{\"watchdog\": " + nested(200000) + "}", "image.json"),
                      Contains("image.json: nested deeper than 64 levels"));
}

TEST_CASE("json document: runtime.json nested deeply, a FIFO or a device is refused, not followed", "[json-document]") {
    Dir d;
    std::string rt = d.path + "/runtime.json";
    fs::write_file(rt, "{\"berth\": {\"restart\": " + nested(200000) + "}}");
    CHECK_THROWS_WITH(config::load_service_policy(d.path), Contains("runtime.json: nested deeper than 64 levels"));

    ::unlink(rt.c_str());
    REQUIRE(::mkfifo(rt.c_str(), 0644) == 0);  // no writer: a blocking open would wait for ever
    auto t0 = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH(config::load_service_policy(d.path), Contains("runtime.json: Invalid argument"));
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));

    ::unlink(rt.c_str());
    REQUIRE(::symlink("/dev/zero", rt.c_str()) == 0);  // no end
    CHECK_THROWS_WITH(config::load_service_policy(d.path), Contains("runtime.json: Invalid argument"));

    ::unlink(rt.c_str());
    fs::write_file(rt, "{\"berth\": {}, \"pad\": \"" + std::string(config::kMaxJsonDocumentBytes, 'x') + "\"}");
    CHECK_THROWS_WITH(config::load_service_policy(d.path), Contains("runtime.json: larger than 1048576 bytes"));

    ::unlink(rt.c_str());
    CHECK_NOTHROW(config::load_service_policy(d.path));  // absent: the defaults
    fs::write_file(rt, R"({"berth": {"restart": "always"}})");
    CHECK(config::load_service_policy(d.path).restart == config::Restart::always);
}

TEST_CASE("fs::try_read_regular_file: bounded, and /proc files (size 0) are read whole", "[json-document]") {
    auto status = fs::try_read_regular_file("/proc/self/status", 1 << 20);
    REQUIRE(status);
    CHECK(status->find("Pid:") != std::string::npos);
    errno = 0;
    CHECK_FALSE(fs::try_read_regular_file("/proc/self/status", 16));
    CHECK(errno == EFBIG);
    CHECK_FALSE(fs::try_read_regular_file("/nonexistent/file", 16));
    CHECK(errno == ENOENT);
}
