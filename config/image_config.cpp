#include "config/image_config.hpp"

#include <vector>

namespace berth::config {

using json = nlohmann::json;
using oci::ConfigError;

namespace {

std::optional<WatchdogConfig> parse_watchdog(const json& w, std::vector<std::string>& problems) {
    if (!w.is_object()) {
        problems.push_back("watchdog: expected an object");
        return std::nullopt;
    }
    WatchdogConfig c;
    for (const auto& [key, v] : w.items()) {
        std::string where = "watchdog." + key;
        if (key == "device") {
            if (!v.is_string() || v.get_ref<const std::string&>().rfind("/dev/", 0) != 0)
                problems.push_back(where + ": expected a device path under /dev");
            else
                c.device = v.get<std::string>();
        } else if (key == "timeout" || key == "interval") {
            auto ms = parse_duration(v);
            if (!ms) {
                problems.push_back(where + ": expected a duration such as \"10s\"");
            } else if (key == "timeout") {
                // The driver takes whole seconds: a shorter timeout would be dropped.
                if (*ms < 1000 || *ms > 3600000) problems.push_back(where + ": must be between 1s and 1h");
                else c.timeout_s = int(*ms / 1000);
            } else {
                if (*ms < 100) problems.push_back(where + ": must be at least 100ms");
                else c.interval_ms = *ms;
            }
        } else {
            problems.push_back(where + ": unknown key (expected device, timeout, interval)");
        }
    }
    return c;
}

std::optional<EmergencyConfig> parse_emergency(const json& e, std::vector<std::string>& problems) {
    if (!e.is_object()) {
        problems.push_back("emergency: expected an object");
        return std::nullopt;
    }
    EmergencyConfig c;
    for (const auto& [key, v] : e.items()) {
        std::string where = "emergency." + key;
        if (key == "action") {
            auto a = v.is_string() ? emergency_action_from_name(v.get_ref<const std::string&>()) : std::nullopt;
            if (!a) problems.push_back(where + ": expected one of reboot, poweroff, halt, shell");
            else c.action = *a;
        } else if (key == "delay") {
            auto ms = parse_duration(v);
            if (!ms) problems.push_back(where + ": expected a duration such as \"30s\"");
            else if (*ms > kEmergencyMaxDelayMs) problems.push_back(where + ": must be at most 1h");
            else c.delay_ms = *ms;
        } else {
            problems.push_back(where + ": unknown key (expected action, delay)");
        }
    }
    return c;
}

}  // namespace

std::optional<EmergencyAction> emergency_action_from_name(std::string_view name) {
    if (name == "reboot") return EmergencyAction::reboot;
    if (name == "poweroff") return EmergencyAction::poweroff;
    if (name == "halt") return EmergencyAction::halt;
    if (name == "shell") return EmergencyAction::shell;
    return std::nullopt;
}

const char* emergency_action_name(EmergencyAction a) {
    switch (a) {
        case EmergencyAction::poweroff: return "poweroff";
        case EmergencyAction::halt: return "halt";
        case EmergencyAction::shell: return "shell";
        case EmergencyAction::reboot: break;
    }
    return "reboot";
}

ImageConfig parse_image_config(const json& doc, const std::string& source) {
    std::vector<std::string> problems;
    ImageConfig c;
    if (!doc.is_object()) throw ConfigError(source, {"expected an object"});
    for (const auto& [key, v] : doc.items()) {
        if (key == "watchdog") c.watchdog = parse_watchdog(v, problems);
        else if (key == "emergency") c.emergency = parse_emergency(v, problems);
        else problems.push_back(key + ": unknown key (expected watchdog, emergency)");
    }
    if (!problems.empty()) throw ConfigError(source, problems);
    return c;
}

ImageConfig parse_image_config_text(const std::string& text, const std::string& source) {
    json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded()) throw ConfigError(source, {"not JSON"});
    return parse_image_config(doc, source);
}

json to_json(const ImageConfig& c) {
    json doc = json::object();
    if (c.watchdog) {
        json w = {{"device", c.watchdog->device}, {"timeout", format_duration(Millis(c.watchdog->timeout_s) * 1000)}};
        if (c.watchdog->interval_ms) w["interval"] = format_duration(c.watchdog->interval_ms);
        doc["watchdog"] = w;
    }
    if (c.emergency)
        doc["emergency"] = {{"action", emergency_action_name(c.emergency->action)},
                            {"delay", format_duration(c.emergency->delay_ms)}};
    return doc;
}

}  // namespace berth::config
