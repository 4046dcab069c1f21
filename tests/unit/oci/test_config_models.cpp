// The typed models config/ owns besides config.json: durations, signals,
// image.json, runtime.json and the service policy. Each writer's output reads
// back as the same model, and each parser refuses what PID 1 would refuse.
#include <signal.h>

#include <catch2/catch.hpp>

#include "config/byte_size.hpp"
#include "config/duration.hpp"
#include "config/image_config.hpp"
#include "config/runtime_config.hpp"
#include "config/signals.hpp"

using namespace berth::config;
using nlohmann::json;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

std::string problems_of(auto&& parse) {
    try {
        parse();
    } catch (const berth::oci::ConfigError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("one duration parser: units, numbers of seconds, and the shortest exact text") {
    CHECK(parse_duration_text("250ms") == 250);
    CHECK(parse_duration_text("1.5s") == 1500);
    CHECK(parse_duration_text("2m") == 120000);
    CHECK(parse_duration_text("1h") == 3600000);
    for (const char* bad : {"", "10", "s", "-1s", ".5s", "1.s", "1..5s", "10 s", "5d", "1e3s", "99999999999h"})
        CHECK_FALSE(parse_duration_text(bad));
    CHECK(parse_duration(json(2.5)) == 2500);
    CHECK(parse_duration(json("10s")) == 10000);
    CHECK_FALSE(parse_duration(json(-1)));
    CHECK_FALSE(parse_duration(json(true)));
    for (Millis ms : {0L, 1L, 999L, 1000L, 1500L, 60000L, 90000L, 3600000L, 7200000L, 86400000L})
        CHECK(parse_duration_text(format_duration(ms)) == ms);
    CHECK(format_duration(120000) == "2m");
    CHECK(format_duration(1500) == "1500ms");
}

TEST_CASE("one signal table: names with or without SIG, numbers, real-time offsets") {
    CHECK(signal_from_name("TERM") == SIGTERM);
    CHECK(signal_from_name("SIGKILL") == SIGKILL);
    CHECK(signal_from_name("9") == SIGKILL);
    CHECK(signal_from_name("RTMIN+2") == SIGRTMIN + 2);
    CHECK(signal_from_name("SIGRTMAX-1") == SIGRTMAX - 1);
    for (const char* bad : {"", "TERMS", "0", "65", "RTMIN+99", "RTMIN+", "sigterm"}) CHECK_FALSE(signal_from_name(bad));
    for (int sig = 1; sig <= SIGRTMAX; ++sig) {
        std::string name = signal_name(sig);
        if (name.empty()) continue;  // 32, 33: glibc's own
        CHECK(signal_from_name(name) == sig);
    }
    CHECK(signal_name(SIGTERM) == "SIGTERM");
    CHECK(signal_name(SIGABRT) == "SIGABRT");
}

TEST_CASE("image.json: the builder's document reads back; PID 1's refusals are the model's") {
    ImageConfig c;
    c.watchdog = WatchdogConfig{"/dev/watchdog1", 20, 2500};
    CHECK(parse_image_config(to_json(c), "image.json") == c);
    CHECK(to_json(c) == json::parse(R"({"watchdog": {"device": "/dev/watchdog1", "timeout": "20s", "interval": "2500ms"}})"));
    CHECK(parse_image_config(to_json(ImageConfig{}), "image.json") == ImageConfig{});
    CHECK(problems_of([] { parse_image_config(json::parse(R"({"watchdog": {"timeout": "500ms"}})"), "i.json"); }) ==
          "i.json: watchdog.timeout: must be between 1s and 1h");
    CHECK_THAT(problems_of([] { parse_image_config(json::parse(R"({"watchdg": {}})"), "i.json"); }),
               Contains("watchdg: unknown key"));
}

TEST_CASE("image.json: the emergency choice reads back; bad actions and delays are refused") {
    ImageConfig c;
    c.emergency = EmergencyConfig{EmergencyAction::shell, 30000};
    CHECK(to_json(c) == json::parse(R"({"emergency": {"action": "shell", "delay": "30s"}})"));
    CHECK(parse_image_config(to_json(c), "image.json") == c);
    for (auto a : {EmergencyAction::reboot, EmergencyAction::poweroff, EmergencyAction::halt, EmergencyAction::shell})
        CHECK(emergency_action_from_name(emergency_action_name(a)) == a);
    CHECK(parse_image_config(json::parse(R"({"emergency": {}})"), "i.json").emergency == EmergencyConfig{});
    CHECK(problems_of([] { parse_image_config(json::parse(R"({"emergency": {"action": "panic"}})"), "i.json"); }) ==
          "i.json: emergency.action: expected one of reboot, poweroff, halt, shell");
    CHECK(problems_of([] { parse_image_config(json::parse(R"({"emergency": {"delay": "2h"}})"), "i.json"); }) ==
          "i.json: emergency.delay: must be at most 1h");
    CHECK_THAT(problems_of([] { parse_image_config(json::parse(R"({"emergency": {"when": 1}})"), "i.json"); }),
               Contains("emergency.when: unknown key"));
}

TEST_CASE("runtime.json: the builder's document reads back; refusals are listed with their paths") {
    RuntimeConfig c;
    c.mounts = {{"/c/tmp", "tmpfs", "tmpfs", {"nodev"}}, {"/c/tmp", "", "", {"remount", "private"}}};
    c.mkdir = {"/var/x"};
    c.cgroups = {"berth/s"};
    c.bind_ns = {{"net", "/run/netns/wg"}, {"uts", "/run/uts/s"}};
    c.interfaces = {{"eth1", "", "", false}, {"veth0", "veth", "veth0-root", false}, {"wg0", "wireguard", "", true}};
    c.berth.restart = Restart::always;
    c.berth.depends_on = {"db"};
    json doc = to_json(c);
    CHECK(parse_runtime_config(doc, "runtime.json") == c);
    CHECK(to_json(RuntimeConfig{}) == json::object());
    std::string why = problems_of([] {
        parse_runtime_config(json::parse(R"({"cgroups": ["../up"], "namespace": "services.linuxkit",
                                              "mounts": [{"type": "tmpfs"}], "berth": {"restart": "sometimes"}})"),
                             "rt.json");
    });
    CHECK_THAT(why, Contains("cgroups[0]: \"../up\" must be a relative cgroup name"));
    CHECK_THAT(why, Contains("namespace: a LinuxKit key berth does not implement"));
    CHECK_THAT(why, Contains("mounts[0].destination: required"));
    CHECK_THAT(why, Contains("berth.restart: expected one of no, on-failure, always"));
    CHECK(doc["bindNS"] == json{{"net", "/run/netns/wg"}, {"uts", "/run/uts/s"}});
    std::string ns = problems_of([] {
        parse_runtime_config(json::parse(R"({"bindNS": {"network": "/run/netns/a", "net": "run/netns/a",
                                                         "ipc": "/run/../etc/x", "uts": 5, "pid": "/run/ns/pid"}})"),
                             "rt.json");
    });
    CHECK_THAT(ns, Contains("bindNS.network: unknown namespace"));
    CHECK_THAT(ns, Contains("bindNS.net: \"run/netns/a\" must be an absolute path"));
    CHECK_THAT(ns, Contains("bindNS.ipc: \"/run/../etc/x\" must be an absolute path without '..'"));
    CHECK_THAT(ns, Contains("bindNS.uts: expected a path"));
    CHECK_THAT(ns, !Contains("bindNS.pid"));
    CHECK_THAT(problems_of([] { parse_runtime_config(json::parse(R"({"bindNS": ["net"]})"), "rt.json"); }),
               Contains("bindNS: expected a map of namespace to path"));
}

TEST_CASE("runtime.json interfaces: LinuxKit's entries read as LinuxKit reads them; bad ones are listed") {
    // As LinuxKit writes them (createInRoot always present); a peer implies veth.
    RuntimeConfig c = parse_runtime_config(json::parse(R"({"interfaces": [
        {"name": "eth1", "createInRoot": false},
        {"name": "veth0", "peer": "veth0-root", "createInRoot": false},
        {"name": "wg0", "add": "wireguard", "createInRoot": true}]})"),
                                           "rt.json");
    REQUIRE(c.interfaces.size() == 3);
    CHECK(c.interfaces[0] == RuntimeInterface{"eth1", "", "", false});
    CHECK(c.interfaces[1] == RuntimeInterface{"veth0", "veth", "veth0-root", false});
    CHECK(c.interfaces[2] == RuntimeInterface{"wg0", "wireguard", "", true});
    CHECK(to_json(c)["interfaces"][1] == json{{"name", "veth0"}, {"add", "veth"}, {"peer", "veth0-root"}});

    std::string why = problems_of([] {
        parse_runtime_config(json::parse(R"({"interfaces": [
            {"add": "dummy"},
            {"name": "a-name-far-too-long"},
            {"name": "v0", "add": "veth"},
            {"name": "d0", "add": "dummy", "peer": "d1"},
            {"name": "x0", "createInRoot": "yes", "mtu": 1400},
            {"name": "v1", "peer": "v1"},
            {"name": "e/0", "add": "we ird"}]})"),
                             "rt.json");
    });
    CHECK_THAT(why, StartsWith("rt.json"));
    CHECK_THAT(why, Contains("interfaces[0].name: required"));
    CHECK_THAT(why, Contains("interfaces[1].name: \"a-name-far-too-long\" is not a network interface name"));
    CHECK_THAT(why, Contains("interfaces[2].peer: required for a veth pair"));
    CHECK_THAT(why, Contains("interfaces[3].peer: only a veth pair has a peer (this entry adds \"dummy\")"));
    CHECK_THAT(why, Contains("interfaces[4].createInRoot: expected true or false"));
    CHECK_THAT(why, Contains("interfaces[4].mtu: unknown key"));
    CHECK_THAT(why, Contains("interfaces[5].peer: \"v1\" is also the interface's name"));
    CHECK_THAT(why, Contains("interfaces[6].name: \"e/0\" is not a network interface name"));
    CHECK_THAT(why, Contains("interfaces[6].add: \"we ird\" is not a link kind"));
    CHECK_THAT(problems_of([] { parse_runtime_config(json::parse(R"({"interfaces": {"name": "eth0"}})"), "rt.json"); }),
               Contains("interfaces: expected a list of interfaces"));
}

TEST_CASE("service policy: the writer keeps only what differs, and reads back the same") {
    ServicePolicy d;
    CHECK(to_json(d) == json::object());
    ServicePolicy p;
    p.restart = Restart::no;
    p.restart_delay_ms = 250;
    p.restart_delay_max_ms = 120000;
    p.restart_reset_after_ms = 1500;
    p.give_up = GiveUp{5, 60000, PowerOnFailure::reboot};
    p.stop_signal = SIGINT;
    p.stop_timeout_ms = 5000;
    p.timeout_ms = 3600000;
    p.on_failure = PowerOnFailure::poweroff;
    p.depends_on = {"a"};
    p.waits_for = {"b"};
    p.after = {"c"};
    p.readiness = Readiness::notify_fd;
    p.readiness_fd = 5;
    p.readiness_timeout_ms = 10000;
    p.watchdog_ms = 30000;
    p.log = LogPolicy{false, true, 512 << 10, 3, 50};
    json doc = to_json(p);
    CHECK(doc["stopSignal"] == "SIGINT");
    CHECK(doc["restartDelay"] == "250ms");
    CHECK(doc["timeout"] == "1h");
    CHECK(parse_service_policy(doc, "rt") == p);
    ServicePolicy rt;
    rt.stop_signal = SIGRTMIN + 3;
    CHECK(parse_service_policy(to_json(rt), "rt") == rt);
}

TEST_CASE("byte sizes: one grammar for YAML, berth's flags and berth-runc's", "[config][byte-size]") {
    using berth::config::parse_byte_size;
    CHECK(parse_byte_size("4096") == 4096u);
    CHECK(parse_byte_size("100B") == 100u);
    CHECK(parse_byte_size("512KiB") == 512u << 10);
    CHECK(parse_byte_size("1M") == 1u << 20);
    CHECK(parse_byte_size("64m") == 64u << 20);
    CHECK(parse_byte_size("1MB") == 1u << 20);
    CHECK(parse_byte_size("2GiB") == 2ull << 30);
    CHECK(parse_byte_size("1.5g") == 3ull << 29);
    CHECK(parse_byte_size("64 m") == 64u << 20);
    CHECK(parse_byte_size("1T") == 1ull << 40);
    CHECK(parse_byte_size("16P") == 16ull << 50);
    CHECK_THROWS_WITH(parse_byte_size(""), Catch::Matchers::Contains("expected a number"));
    CHECK_THROWS_WITH(parse_byte_size("M"), Catch::Matchers::Contains("expected a number"));
    CHECK_THROWS_WITH(parse_byte_size("1X"), Catch::Matchers::Contains("unknown unit `X`"));
    CHECK_THROWS_WITH(parse_byte_size("1Mi"), Catch::Matchers::Contains("unknown unit"));
    CHECK_THROWS_WITH(parse_byte_size("1bb"), Catch::Matchers::Contains("unknown unit"));
    CHECK_THROWS_WITH(parse_byte_size("0.3"), Catch::Matchers::Contains("whole number of bytes"));
    CHECK_THROWS_WITH(parse_byte_size("1."), Catch::Matchers::Contains("digit must follow"));
    CHECK_THROWS_WITH(parse_byte_size("16384P"), Catch::Matchers::Contains("too large"));
    CHECK_THROWS_WITH(parse_byte_size("99999999999999999999"), Catch::Matchers::Contains("too large"));
    CHECK_THROWS_WITH(parse_byte_size("-1"), Catch::Matchers::Contains("expected a number"));
}
