// The image-wide settings in /etc/berth/image.json: `berth build` writes them
// from the YAML, PID 1 reads them at boot. One model for both sides, so the
// build refuses what the boot would refuse.
//
//   {"watchdog": {"device": "/dev/watchdog", "timeout": "30s", "interval": "10s"},
//    "emergency": {"action": "shell", "delay": "30s"}}
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "config/duration.hpp"
#include "config/oci_spec.hpp"

namespace berth::config {

inline constexpr const char* kImageConfigPath = "/etc/berth/image.json";

// The hardware watchdog PID 1 opens, sets and pets.
struct WatchdogConfig {
    std::string device = "/dev/watchdog";
    int timeout_s = 30;        // asked of the driver (it may round it); 1 s .. 1 h
    Millis interval_ms = 0;    // 0: a third of the timeout the driver accepted; else >= 100 ms
    bool operator==(const WatchdogConfig&) const = default;
};

// What PID 1 does when its own setup fails (init/emergency.hpp). The kernel
// command line's berth.emergency= overrides the action.
enum class EmergencyAction { reboot, poweroff, halt, shell };
inline constexpr Millis kEmergencyDefaultDelayMs = 10000;
inline constexpr Millis kEmergencyMaxDelayMs = 3600000;

struct EmergencyConfig {
    EmergencyAction action = EmergencyAction::reboot;
    Millis delay_ms = kEmergencyDefaultDelayMs;  // before reboot/poweroff/halt; 0 .. 1 h
    bool operator==(const EmergencyConfig&) const = default;
};

// "reboot", "poweroff", "halt", "shell"; nullopt for anything else.
std::optional<EmergencyAction> emergency_action_from_name(std::string_view name);
const char* emergency_action_name(EmergencyAction a);

// An A/B image (the raw-efi-ab output, docs/updates.md): what `berth update
// apply` accepts and what PID 1 waits for before it commits a boot on trial.
//   "update": {"name": "redis-os", "arch": "amd64", "version": "2", "publicKey": HEX,
//              "slotBytes": N, "tries": 1, "commitWhenReady": ["redis"], "deadline": "2m"}
inline constexpr Millis kUpdateDefaultDeadlineMs = 120000;
struct UpdateConfig {
    std::string name, arch, version;
    std::string public_key;  // Ed25519, 64 hex digits
    std::uint64_t slot_bytes = 0;
    int tries = 1;  // boot attempts of a new slot before the loader falls back; 1..9
    std::vector<std::string> commit_when_ready;
    Millis deadline_ms = kUpdateDefaultDeadlineMs;  // from PID 1's start; 1 s .. 1 h
    bool operator==(const UpdateConfig&) const = default;
};

struct ImageConfig {
    std::optional<WatchdogConfig> watchdog;
    std::optional<EmergencyConfig> emergency;
    std::optional<UpdateConfig> update;
    bool operator==(const ImageConfig&) const = default;
};

// Parses image.json's document. Throws oci::ConfigError naming `source` and
// listing every problem with its path ("watchdog.timeout: must be between 1s and 1h").
ImageConfig parse_image_config(const nlohmann::json& doc, const std::string& source);
// The same from the file's text; text that is not JSON is a problem too.
ImageConfig parse_image_config_text(const std::string& text, const std::string& source);

// The document parse_image_config() reads back as the same ImageConfig.
nlohmann::json to_json(const ImageConfig& c);

}  // namespace berth::config
