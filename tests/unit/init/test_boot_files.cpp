#include <catch2/catch.hpp>

#include "init/boot_files.hpp"
#include "init/shutdown.hpp"

using namespace berth::init;

TEST_CASE("kernel command line is split into keys and values") {
    auto m = parse_cmdline("console=ttyS0 quiet berth.hostname=box  msg=\"a b\"\n");
    CHECK(m.at("console") == "ttyS0");
    CHECK(m.at("quiet").empty());
    CHECK(m.at("berth.hostname") == "box");
    CHECK(m.at("msg") == "a b");
    CHECK(m.size() == 4);
}

TEST_CASE("sysctl files: values, comments, '-' prefix and problems") {
    std::vector<ParseProblem> problems;
    auto e = parse_sysctl("# c\n; c\nkernel.panic = 10\n-net.ipv4.ip_forward=1\nbroken line\n = 3\n", problems);
    REQUIRE(e.size() == 2);
    CHECK(e[0].key == "kernel.panic");
    CHECK(e[0].value == "10");
    CHECK(e[0].line == 3);
    CHECK_FALSE(e[0].ignore_failure);
    CHECK(e[1].key == "net.ipv4.ip_forward");
    CHECK(e[1].ignore_failure);
    REQUIRE(problems.size() == 2);
    CHECK(problems[0].line == 5);
    CHECK(problems[1].line == 6);
}

TEST_CASE("sysctl keys map to /proc/sys paths") {
    CHECK(sysctl_path("kernel.panic") == "/proc/sys/kernel/panic");
    CHECK(sysctl_path("net/ipv4/conf/eth0.1/forwarding") == "/proc/sys/net/ipv4/conf/eth0.1/forwarding");
}

TEST_CASE("module list keeps order and parameters, rejects relative paths") {
    std::vector<ParseProblem> problems;
    auto m = parse_module_list("/lib/modules/6.1/a.ko\n# comment\n/lib/modules/6.1/b.ko  x=1 y=2 # tail\nc.ko\n",
                               problems);
    REQUIRE(m.size() == 2);
    CHECK(m[0].path == "/lib/modules/6.1/a.ko");
    CHECK(m[0].params.empty());
    CHECK(m[1].params == "x=1 y=2");
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].line == 4);
}

TEST_CASE("hostnames are validated") {
    CHECK(valid_hostname("berth"));
    CHECK(valid_hostname("a-b.example"));
    CHECK_FALSE(valid_hostname(""));
    CHECK_FALSE(valid_hostname("-a"));
    CHECK_FALSE(valid_hostname("a..b"));
    CHECK_FALSE(valid_hostname("a b"));
    CHECK_FALSE(valid_hostname(std::string(65, 'a')));
}

TEST_CASE("mountinfo is parsed in order with octal escapes decoded") {
    auto p = parse_mount_points(
        "22 1 0:21 / / rw - tmpfs tmpfs rw\n"
        "23 22 0:5 / /proc rw - proc proc rw\n"
        "24 22 0:6 / /mnt/a\\040b rw - tmpfs tmpfs rw\n");
    REQUIRE(p.size() == 3);
    CHECK(p[0] == "/");
    CHECK(p[2] == "/mnt/a b");
}

