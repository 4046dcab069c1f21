// common/text.hpp: the splitting that replaced std::istringstream in PID 1.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "common/text.hpp"

using namespace berth;

namespace {
std::vector<std::string> lines_of(std::string_view s) {
    std::vector<std::string> out;
    text::for_each_line(s, [&](std::string_view l) { out.emplace_back(l); });
    return out;
}
std::vector<std::string> strings(const std::vector<std::string_view>& v) { return {v.begin(), v.end()}; }
}  // namespace

TEST_CASE("for_each_line reads the lines std::getline reads") {
    CHECK(lines_of("").empty());
    CHECK(lines_of("a") == std::vector<std::string>{"a"});
    CHECK(lines_of("a\n") == std::vector<std::string>{"a"});
    CHECK(lines_of("a\n\nb") == std::vector<std::string>{"a", "", "b"});
    CHECK(lines_of("\n") == std::vector<std::string>{""});
}

TEST_CASE("words split at any white space, like operator>>") {
    CHECK(text::words("").empty());
    CHECK(text::words(" \t\n").empty());
    CHECK(strings(text::words("  36 35 0:33 /  /mnt\trw\n")) ==
          std::vector<std::string>{"36", "35", "0:33", "/", "/mnt", "rw"});
    CHECK(strings(text::words("a")) == std::vector<std::string>{"a"});
}

TEST_CASE("split drops empty parts") {
    CHECK(strings(text::split(",rw,,cpu,", ',')) == std::vector<std::string>{"rw", "cpu"});
    CHECK(text::split("", ',').empty());
}

TEST_CASE("parse_int takes a whole decimal integer only") {
    int v = 0;
    CHECK(text::parse_int("42", v));
    CHECK(v == 42);
    CHECK(text::parse_int("-7", v));
    CHECK(v == -7);
    CHECK_FALSE(text::parse_int("", v));
    CHECK_FALSE(text::parse_int("12x", v));
    CHECK_FALSE(text::parse_int("99999999999", v));
}
