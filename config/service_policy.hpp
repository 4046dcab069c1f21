// berth's per-container service policy: the "berth" object of the bundle's
// runtime.json (LinuxKit's side file; config.json stays pure OCI). Every key has
// a default, so an absent object or file is a valid policy.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/device_match.hpp"
#include "config/duration.hpp"
#include "config/oci_spec.hpp"

namespace berth::config {

using ConfigError = oci::ConfigError;  // what() lists every problem with its path

enum class Restart { no, on_failure, always };
enum class PowerOnFailure { none, cont, poweroff, reboot };  // giveUp uses none, onboot uses cont
enum class Readiness { none, notify_fd, systemd };

struct GiveUp {
    int failures = 0;           // that many failures ...
    Millis window_ms = 0;       // ... within this window (0: ever) give up
    PowerOnFailure action = PowerOnFailure::none;
    bool operator==(const GiveUp&) const = default;
};

struct LogPolicy {
    bool console = true;
    bool file = false;           // /var/log/NAME.log
    std::uint64_t max_size = 1 << 20;
    int keep = 2;                // rotated files NAME.log.1 .. NAME.log.keep
    int ring_lines = 1000;       // lines kept in PID 1's memory
    // Rotation renames every kept file in PID 1; the ring's lines are up to
    // 4 KiB each (12 KiB once bytes that are not UTF-8 become U+FFFD).
    static constexpr int kMaxKeep = 100;
    static constexpr int kMaxRingLines = 10000;
    bool operator==(const LogPolicy&) const = default;
};

struct ServicePolicy {
    Restart restart = Restart::on_failure;
    Millis restart_delay_ms = 1000;
    Millis restart_delay_max_ms = 60000;
    Millis restart_reset_after_ms = 30000;
    std::optional<GiveUp> give_up;
    int stop_signal = 15;        // SIGTERM
    Millis stop_timeout_ms = 10000;
    Millis timeout_ms = 300000;  // onboot/onshutdown run time
    PowerOnFailure on_failure = PowerOnFailure::cont;
    std::vector<std::string> depends_on, waits_for, after;
    Readiness readiness = Readiness::none;
    // The notify-fd number: PID 1's launch fills 3..fd, so it stays small.
    static constexpr int kMaxReadinessFd = 1023;
    int readiness_fd = 3;
    Millis readiness_timeout_ms = 30000;
    Millis watchdog_ms = 0;      // 0: no WATCHDOG=1 pings expected
    LogPolicy log;
    // Devices matched when they appear (device_match.hpp): the node in the
    // container and its device cgroup rule follow the device while it runs.
    std::vector<DeviceMatch> devices;
    bool operator==(const ServicePolicy&) const = default;
};

// Parses runtime.json's "berth" object. Throws ConfigError naming `source` and
// listing every problem ("berth.restartDelay: negative duration").
ServicePolicy parse_service_policy(const nlohmann::json& berth_object, const std::string& source);

// The "berth" object parse_service_policy() reads back as `p`: only the keys
// whose value differs from the default, durations as "2s", signals as "SIGINT".
nlohmann::json to_json(const ServicePolicy& p);

// <bundle>/runtime.json's "berth" object; the defaults when the file or the
// object is absent. Other runtime.json keys (mounts, mkdir...) are not checked here.
ServicePolicy load_service_policy(const std::string& bundle_dir);

// "512KiB", "1MiB", "2GiB", "100B" or a number of bytes.
std::optional<std::uint64_t> parse_size(const nlohmann::json& v);
// "SIGTERM", "TERM" or a number (config/signals.hpp); 0 when unknown.
int parse_signal(const nlohmann::json& v);
// The candidate nearest to `word` by edit distance, "" when none is close.
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

const char* restart_name(Restart r);
const char* readiness_name(Readiness r);
// "none", "continue", "poweroff", "reboot" as the policy writes them.
const char* power_action_name(PowerOnFailure a);

}  // namespace berth::config
