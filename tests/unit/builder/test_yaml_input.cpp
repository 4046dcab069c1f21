// The bounds on a YAML file before its keys are read: size, bytes, aliases, depth.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "builder/arch.hpp"
#include "builder/validate.hpp"
#include "builder/yaml_input.hpp"
#include "builder/yaml_model.hpp"
#include "builder/yaml_syntax_hint.hpp"
#include "common/fs.hpp"

using namespace berth::builder;
using Catch::Matchers::Contains;

namespace {

const char* kHead = "kernel:\n  package: k\n";

ImageSpec parse(const std::string& text) { return parse_image_yaml(text, "in.yml", "/base"); }

// "Billion laughs": each level a list of nine aliases of the one before.
std::string laughs(int levels) {
    std::string t = "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
    for (int i = 1; i < levels; ++i) {
        std::string prev = "*a" + std::to_string(i - 1);
        t += "x" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
        for (int j = 0; j < 9; ++j) t += (j ? ", " : "") + prev;
        t += "]\n";
    }
    return t;
}

}  // namespace

TEST_CASE("yaml input: nested aliases are refused before they are expanded", "[builder][yaml][input]") {
    // 9 levels of 9 would be 387 million nodes; refused at the alias that crosses the bound.
    CHECK_THROWS_WITH(check_yaml_input(laughs(9), "in.yml"),
                      Contains("in.yml:7:") && Contains("more than 1000000 nodes once aliases are expanded"));
    // The same through the parser, which reports it as the file's error.
    CHECK_THROWS_WITH(parse(laughs(9) + kHead), Contains("billion laughs"));
    // A few levels (9^5 = 59049 nodes) are an unusual but bounded file: no error from the bound.
    CHECK_NOTHROW(check_yaml_input(laughs(5), "in.yml"));
    // Aliases as people use them: one anchored command reused.
    ImageSpec s = parse(std::string(kHead) +
                        "services:\n"
                        "  - {name: a, image: busybox, command: &cmd [httpd, -f, -p, \"80\"]}\n"
                        "  - {name: b, image: busybox, command: *cmd}\n");
    REQUIRE(s.services.size() == 2);
    CHECK(*s.services[1].command == std::vector<std::string>{"httpd", "-f", "-p", "80"});
    // An alias inside the node its anchor names would be a cycle in the tree.
    CHECK_THROWS_WITH(parse(std::string(kHead) + "onboot: &x\n  - {name: a, image: i, command: *x}\n"),
                      Contains("in.yml:4:34: an alias inside the list or map its anchor names (a cycle)"));
    CHECK_THROWS_WITH(parse(std::string(kHead) + "onboot:\n  - &x {name: a, image: i, <<: *x}\n"),
                      Contains("(a cycle)"));
    // An alias of an earlier, closed node is not.
    CHECK_NOTHROW(parse(std::string(kHead) + "onboot:\n  - &x {name: a, image: i}\n  - {<<: *x, name: b}\n"));
}

TEST_CASE("yaml input: bytes that are not UTF-8 text are refused at their place", "[builder][yaml][input]") {
    CHECK_THROWS_WITH(parse(std::string(kHead) + "  cmdline: \"console=tty\xff\"\n"),
                      Contains("in.yml:3:24: byte 0xff is not UTF-8"));
    // A truncated sequence and an overlong encoding.
    CHECK_THROWS_WITH(check_yaml_input("a: \xe2\x82\n", "in.yml"), Contains("in.yml:1:4: byte 0xe2"));
    CHECK_THROWS_WITH(check_yaml_input("a: \xc0\xaf\n", "in.yml"), Contains("byte 0xc0 is not UTF-8"));
    // UTF-16 (here little-endian with its BOM) shows as NUL bytes.
    CHECK_THROWS_WITH(check_yaml_input(std::string("\xff\xfek\0e\0", 6), "in.yml"), Contains("a NUL byte"));
    // Text in any script is fine, and so is a UTF-8 byte order mark.
    ImageSpec s = parse(std::string("\xef\xbb\xbf") + kHead +
                        "services:\n  - {name: a, image: busybox, env: [\"GREETING=grüß dich, 你好\"]}\n");
    CHECK((*s.services[0].env)[0] == "GREETING=grüß dich, 你好");
}

TEST_CASE("yaml input: nesting beyond the parser's depth says so", "[builder][yaml][input]") {
    std::string deep(5000, '[');
    CHECK_THROWS_WITH(parse(deep), Contains("nested deeper than the YAML parser allows"));
}

TEST_CASE("yaml input: a file without end or larger than the bound is refused", "[builder][yaml][input]") {
    CHECK_THROWS_WITH(read_yaml_file("/dev/zero"), Contains("/dev/zero: larger than 64 MiB"));
    ValidateOptions o;
    o.files = {"/dev/zero"};
    std::vector<YamlError> problems = validate_image(o);
    REQUIRE_FALSE(problems.empty());
    CHECK_THAT(problems[0].what(), Contains("larger than 64 MiB"));
}

TEST_CASE("yaml input: values in messages are cut and escaped", "[builder][yaml][input]") {
    CHECK(shown_value("plain") == "'plain'");
    CHECK(shown_value("a\nb\tc\x1b[31m") == "'a\\nb\\tc\\x1b[31m'");
    std::string big(10 << 20, 'x');
    std::string shown = shown_value(big);
    CHECK(shown.size() < 100);
    CHECK_THAT(shown, Contains("...' (10485760 bytes)"));
    // A cut falls between characters.
    std::string umlauts;
    for (int i = 0; i < 100; ++i) umlauts += "ü";
    CHECK(shown_value(umlauts).find("\xc3'") == std::string::npos);
    // A 10 MB scalar where a map is expected gives a short message.
    try {
        parse(big);
        FAIL("no error");
    } catch (const std::exception& e) {
        CHECK(std::string(e.what()).size() < 300);
    }
}

TEST_CASE("yaml input: a command line longer than the kernel keeps is refused", "[builder][yaml][input]") {
    std::string line(kKernelCmdlineMax, 'x');
    CHECK_NOTHROW(parse(std::string(kHead) + "  cmdline: " + line + "\n"));
    CHECK_THROWS_WITH(parse(std::string(kHead) + "  cmdline: " + line + "x\n"),
                      Contains("in.yml:3:12: kernel.cmdline: 2048 bytes; the kernel keeps at most 2047"));
    CHECK_NOTHROW(check_cmdline_length(line, "the line"));
    CHECK_THROWS_WITH(check_cmdline_length(line + " console=ttyS0", "the line"), Contains("the line is 2061 bytes"));
}

TEST_CASE("yaml input: a tab in the indentation is named; a file that is no map gets one error",
          "[builder][yaml][input]") {
    CHECK_THROWS_WITH(parse("kernel:\n\tpackage: k\n"),
                      Contains("in.yml:2:") && Contains("line 2 is indented with a tab; YAML indents with spaces"));
    CHECK(indentation_tab_hint("a:\n  b: c\n", 2).empty());
    CHECK(indentation_tab_hint("a: \"x\ty\"\n", 1).empty());  // a tab inside a value is no indentation

    std::string dir = "/tmp/berth-yaml-input-" + std::to_string(::getpid());
    REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
    for (const char* text : {"", "just a string\n", "[1, 2]\n"}) {
        berth::fs::write_file(dir + "/x.yml", text);
        ValidateOptions o;
        o.files = {dir + "/x.yml"};
        std::vector<YamlError> problems = validate_image(o);
        INFO("file: " << text);
        CHECK(problems.size() == 1);
    }
    std::remove((dir + "/x.yml").c_str());
    ::rmdir(dir.c_str());
}

TEST_CASE("validate: each problem of a container's config.json at its own key", "[builder][validate]") {
    std::string dir = "/tmp/berth-validate-each-" + std::to_string(::getpid());
    REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
    berth::fs::write_file(dir + "/v.yml", std::string(kHead) +
                                              "services:\n"
                                              "  - name: a\n"
                                              "    image: busybox\n"
                                              "    resources:\n"
                                              "      memory: {limit: 1000000, swappiness: 10}\n"
                                              "      network:\n"
                                              "        classID: 1\n");
    ValidateOptions o;
    o.files = {dir + "/v.yml"};
    std::vector<YamlError> problems = validate_image(o);
    REQUIRE(problems.size() == 2);
    CHECK_THAT(problems[0].what(), Contains("v.yml:7:44: services[0].resources.memory.swappiness: cgroup v2 has no"));
    CHECK_THAT(problems[1].what(), Contains("v.yml:9:18: services[0].resources.network.classID: cgroup v2 has no"));
    std::remove((dir + "/v.yml").c_str());
    ::rmdir(dir.c_str());
}
