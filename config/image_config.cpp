#include "config/image_config.hpp"
#include "config/json_document.hpp"

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

std::optional<UpdateConfig> parse_update(const json& u, std::vector<std::string>& problems) {
    if (!u.is_object()) {
        problems.push_back("update: expected an object");
        return std::nullopt;
    }
    UpdateConfig c;
    auto text = [&](const std::string& where, const json& v, std::string& out) {
        if (!v.is_string() || v.get_ref<const std::string&>().empty() ||
            v.get_ref<const std::string&>().find_first_of("\n\r") != std::string::npos)
            problems.push_back(where + ": expected a one-line string");
        else
            out = v.get<std::string>();
    };
    for (const auto& [key, v] : u.items()) {
        std::string where = "update." + key;
        if (key == "name") text(where, v, c.name);
        else if (key == "arch") text(where, v, c.arch);
        else if (key == "version") text(where, v, c.version);
        else if (key == "publicKey") {
            text(where, v, c.public_key);
            if (c.public_key.size() != 64 || c.public_key.find_first_not_of("0123456789abcdef") != std::string::npos)
                problems.push_back(where + ": expected 64 lower-case hex digits (an Ed25519 public key)");
        } else if (key == "slotBytes") {
            if (!v.is_number_unsigned() || v.get<std::uint64_t>() < (1u << 20)) problems.push_back(where + ": expected a byte count of at least 1 MiB");
            else c.slot_bytes = v.get<std::uint64_t>();
        } else if (key == "tries") {
            if (!v.is_number_integer() || v.get<long long>() < 1 || v.get<long long>() > 9)
                problems.push_back(where + ": expected 1 to 9");
            else c.tries = v.get<int>();
        } else if (key == "commitWhenReady") {
            if (!v.is_array()) problems.push_back(where + ": expected a list of service names");
            else
                for (const auto& n : v) {
                    if (!n.is_string() || n.get_ref<const std::string&>().empty())
                        problems.push_back(where + ": expected a list of service names");
                    else c.commit_when_ready.push_back(n.get<std::string>());
                }
        } else if (key == "deadline") {
            auto ms = parse_duration(v);
            if (!ms) problems.push_back(where + ": expected a duration such as \"2m\"");
            else if (*ms < 1000 || *ms > 3600000) problems.push_back(where + ": must be between 1s and 1h");
            else c.deadline_ms = *ms;
        } else {
            problems.push_back(where + ": unknown key (expected name, arch, version, publicKey, slotBytes, tries, "
                                       "commitWhenReady, deadline)");
        }
    }
    if (c.name.empty() || c.arch.empty() || c.public_key.empty() || !c.slot_bytes)
        problems.push_back("update: name, arch, publicKey and slotBytes are required");
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
        else if (key == "update") c.update = parse_update(v, problems);
        else problems.push_back(key + ": unknown key (expected watchdog, emergency, update)");
    }
    if (!problems.empty()) throw ConfigError(source, problems);
    return c;
}

ImageConfig parse_image_config_text(const std::string& text, const std::string& source) {
    return parse_image_config(parse_json_document(text, source), source);
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
    if (c.update) {
        const UpdateConfig& u = *c.update;
        doc["update"] = {{"name", u.name}, {"arch", u.arch}, {"version", u.version}, {"publicKey", u.public_key},
                         {"slotBytes", u.slot_bytes}, {"tries", u.tries}, {"commitWhenReady", u.commit_when_ready},
                         {"deadline", format_duration(u.deadline_ms)}};
        if (u.version.empty()) doc["update"].erase("version");
    }
    return doc;
}

}  // namespace berth::config
