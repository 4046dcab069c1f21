#include <catch2/catch.hpp>
#include <signal.h>

#include "config/service_policy.hpp"

using namespace berth::config;
using nlohmann::json;

namespace {
std::string error_of(const std::string& text) {
    try {
        parse_service_policy(json::parse(text), "runtime.json");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}
}  // namespace

TEST_CASE("an empty berth object gives the documented defaults") {
    ServicePolicy p = parse_service_policy(json::object(), "runtime.json");
    CHECK(p.restart == Restart::on_failure);
    CHECK(p.restart_delay_ms == 1000);
    CHECK(p.restart_delay_max_ms == 60000);
    CHECK(p.restart_reset_after_ms == 30000);
    CHECK_FALSE(p.give_up);
    CHECK(p.stop_signal == SIGTERM);
    CHECK(p.stop_timeout_ms == 10000);
    CHECK(p.timeout_ms == 300000);
    CHECK(p.on_failure == PowerOnFailure::cont);
    CHECK(p.readiness == Readiness::none);
    CHECK(p.readiness_fd == 3);
    CHECK(p.readiness_timeout_ms == 30000);
    CHECK(p.log.console);
    CHECK_FALSE(p.log.file);
    CHECK(p.log.max_size == 1 << 20);
    CHECK(p.log.keep == 2);
    CHECK(p.log.ring_lines == 1000);
}

TEST_CASE("every key is read") {
    ServicePolicy p = parse_service_policy(json::parse(R"({
        "restart": "always", "restartDelay": "250ms", "restartDelayMax": "2m", "restartResetAfter": 5,
        "giveUp": {"failures": 3, "window": "10s", "action": "poweroff"},
        "stopSignal": "SIGINT", "stopTimeout": "1h", "timeout": 0.5, "onFailure": "reboot",
        "dependsOn": ["db"], "waitsFor": ["dhcp"], "after": ["log"],
        "readiness": {"type": "notify-fd", "fd": 5, "timeout": "3s"}, "watchdog": "20s",
        "log": {"console": false, "file": true, "maxSize": "512KiB", "keep": 4, "ringLines": 50}})"),
                                              "runtime.json");
    CHECK(p.restart == Restart::always);
    CHECK(p.restart_delay_ms == 250);
    CHECK(p.restart_delay_max_ms == 120000);
    CHECK(p.restart_reset_after_ms == 5000);
    REQUIRE(p.give_up);
    CHECK(p.give_up->failures == 3);
    CHECK(p.give_up->window_ms == 10000);
    CHECK(p.give_up->action == PowerOnFailure::poweroff);
    CHECK(p.stop_signal == SIGINT);
    CHECK(p.stop_timeout_ms == 3600000);
    CHECK(p.timeout_ms == 500);
    CHECK(p.on_failure == PowerOnFailure::reboot);
    CHECK(p.depends_on == std::vector<std::string>{"db"});
    CHECK(p.waits_for == std::vector<std::string>{"dhcp"});
    CHECK(p.after == std::vector<std::string>{"log"});
    CHECK(p.readiness == Readiness::notify_fd);
    CHECK(p.readiness_fd == 5);
    CHECK(p.readiness_timeout_ms == 3000);
    CHECK(p.watchdog_ms == 20000);
    CHECK_FALSE(p.log.console);
    CHECK(p.log.file);
    CHECK(p.log.max_size == 512 * 1024);
    CHECK(p.log.keep == 4);
    CHECK(p.log.ring_lines == 50);
}

TEST_CASE("signals by name, short name or number") {
    CHECK(parse_signal(json("SIGHUP")) == SIGHUP);
    CHECK(parse_signal(json("QUIT")) == SIGQUIT);
    CHECK(parse_signal(json(9)) == 9);
    CHECK(parse_signal(json("SIGNOPE")) == 0);
    CHECK(parse_signal(json(0)) == 0);
}

TEST_CASE("bad policy: every problem with its path and reason") {
    CHECK(error_of(R"({"restartDelay": "-1s"})") == "runtime.json: berth.restartDelay: negative duration");
    CHECK(error_of(R"({"stopTimeout": -3})") == "runtime.json: berth.stopTimeout: negative duration");
    CHECK(error_of(R"({"restartDelay": "10 parsecs"})").find("berth.restartDelay: expected a duration") != std::string::npos);
    CHECK(error_of(R"({"restartDealy": "1s"})") == "runtime.json: berth.restartDealy: unknown key; did you mean \"restartDelay\"?");
    CHECK(error_of(R"({"restart": "sometimes"})") ==
          "runtime.json: berth.restart: expected one of no, on-failure, always, got \"sometimes\"");
    CHECK(error_of(R"({"log": {"file": "yes"}})") == "runtime.json: berth.log.file: expected true or false, got \"yes\"");
    CHECK(error_of(R"({"giveUp": {"window": "1m"}})") == "runtime.json: berth.giveUp.failures: required");
    CHECK(error_of(R"({"dependsOn": "db"})").find("berth.dependsOn: expected a list") != std::string::npos);
    CHECK(error_of(R"({"readiness": {"fd": 1}})").find("berth.readiness.fd: expected an integer from 3 to 1023") != std::string::npos);
    // docs/yaml.md says 3..1023: the launch fills every fd below it.
    CHECK(error_of(R"({"readiness": {"fd": 1024}})").find("berth.readiness.fd: expected an integer from 3 to 1023, got 1024") != std::string::npos);
    CHECK(error_of(R"({"readiness": {"fd": 1023}})").empty());
    // Rotation and the ring cost PID 1 time and memory: both are capped.
    CHECK(error_of(R"({"log": {"keep": 1000000}})") ==
          "runtime.json: berth.log.keep: expected an integer from 0 to 100, got 1000000");
    CHECK(error_of(R"({"log": {"keep": 100}})").empty());
    CHECK(error_of(R"({"log": {"ringLines": 1000000}})") ==
          "runtime.json: berth.log.ringLines: expected an integer from 1 to 10000, got 1000000");
    CHECK(error_of(R"({"log": {"ringLines": 10000}})").empty());
    CHECK(error_of(R"({"stopSignal": "SIGFOO"})").find("berth.stopSignal: expected a signal name") != std::string::npos);
    CHECK(error_of(R"({"log": {"maxSize": "1 lightyear"}})").find("berth.log.maxSize: expected a size") != std::string::npos);
    // Several problems are all listed, in one message.
    std::string both = error_of(R"({"restart": 1, "timeout": "-5s", "zzzzzzzzzzzz": 1})");
    CHECK(both.find("berth.restart: expected one of") != std::string::npos);
    CHECK(both.find("berth.timeout: negative duration") != std::string::npos);
    CHECK(both.find("berth.zzzzzzzzzzzz: unknown key") != std::string::npos);
    CHECK(both.find("did you mean") == std::string::npos);  // nothing is close to it
}

TEST_CASE("durations and sizes") {
    CHECK(parse_duration(json("250ms")) == 250);
    CHECK(parse_duration(json("1.5s")) == 1500);
    CHECK(parse_duration(json("2m")) == 120000);
    CHECK(parse_duration(json(0)) == 0);
    CHECK_FALSE(parse_duration(json("5")));
    CHECK_FALSE(parse_duration(json("s")));
    CHECK_FALSE(parse_duration(json(true)));
    CHECK(parse_size(json("1MiB")) == 1u << 20);
    CHECK(parse_size(json(4096)) == 4096u);
    CHECK(parse_size(json("1MB")) == 1u << 20);  // MB is 1024², as docker and runc read it
    CHECK_FALSE(parse_size(json("1XB")));
}

TEST_CASE("devices matched when they appear: every form, read back as written") {
    auto p = parse_service_policy(json::parse(R"({"devices": [
        {"match": "/dev/vd[b-z]"},
        {"match": "/dev/disk/by-id/virtio-data*", "mode": "0600", "uid": 999, "gid": 5},
        {"match": "modalias:pci:v00001AF4d*"},
        {"match": "1AF4:1042", "mode": 640}]})"), "runtime.json");
    REQUIRE(p.devices.size() == 4);
    CHECK(p.devices[0].by == DeviceMatch::By::name);
    CHECK(p.devices[0].pattern == "/dev/vd[b-z]");
    CHECK(p.devices[0].mode == 0660);
    CHECK(p.devices[1].by == DeviceMatch::By::disk_link);
    CHECK((p.devices[1].mode == 0600 && p.devices[1].uid == 999 && p.devices[1].gid == 5));
    CHECK(p.devices[2].by == DeviceMatch::By::modalias);
    CHECK(p.devices[2].pattern == "pci:v00001AF4d*");
    CHECK(p.devices[3].by == DeviceMatch::By::id);
    CHECK(p.devices[3].pattern == "1af4:1042");
    CHECK(p.devices[3].mode == 0640);  // a number's digits are octal, as in the fixed entries (YAML reads 0640 as 640)
    CHECK(parse_service_policy(to_json(p), "again") == p);
    CHECK(to_json(p)["devices"][1] == json::parse(R"({"match": "/dev/disk/by-id/virtio-data*", "mode": "0600", "uid": 999, "gid": 5})"));
}

TEST_CASE("devices: a bad entry names its path and what is wrong") {
    auto err = [](const std::string& entry) { return error_of(R"({"devices": [)" + entry + "]}"); };
    CHECK(err(R"({"match": "/etc/passwd"})") ==
          "runtime.json: berth.devices[0].match: \"/etc/passwd\" is not under /dev; expected /dev/NAME, "
          "/dev/disk/by-*/NAME (globs allowed), modalias:PATTERN or VENDOR:PRODUCT (4 hex digits each)");
    CHECK(err(R"({"match": "/dev/../etc/x"})").find("must be a plain path") != std::string::npos);
    CHECK(err(R"({"match": "/dev/input/event*"})").find("only the kernel's names (/dev/NAME) and /dev/disk links") != std::string::npos);
    CHECK(err(R"({"match": "/dev/disk/by-id"})").find("names no link") != std::string::npos);
    CHECK(err(R"({"match": "modalias:"})").find("needs a pattern") != std::string::npos);
    CHECK(err(R"({"match": "1af4:10"})").find("is none of") != std::string::npos);
    CHECK(err(R"({"match": "/dev/vd[b"})").find("unclosed '['") != std::string::npos);
    CHECK(err(R"({"match": "/dev/vdb", "major": 254})") ==
          "runtime.json: berth.devices[0].major: a matched device gets its name, type and numbers from the kernel "
          "when it appears; 'major' belongs to a fixed device entry (without 'match')");
    CHECK(err(R"({"match": "/dev/vdb", "mode": "0999"})").find("berth.devices[0].mode: expected an octal") != std::string::npos);
    CHECK(err(R"({"match": "/dev/vdb", "uid": -1})").find("berth.devices[0].uid: expected a number") != std::string::npos);
    CHECK(err(R"({"mode": "0600"})") == "runtime.json: berth.devices[0].match: required");
    CHECK(err(R"({"match": "/dev/vdb", "moed": 1})") == "runtime.json: berth.devices[0].moed: unknown key (expected match, mode, uid, gid)");
    CHECK(error_of(R"({"devices": {"match": "/dev/vdb"}})").find("berth.devices: expected a list") != std::string::npos);
}
