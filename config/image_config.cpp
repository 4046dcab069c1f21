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

}  // namespace

ImageConfig parse_image_config(const json& doc, const std::string& source) {
    std::vector<std::string> problems;
    ImageConfig c;
    if (!doc.is_object()) throw ConfigError(source, {"expected an object"});
    for (const auto& [key, v] : doc.items()) {
        if (key == "watchdog") c.watchdog = parse_watchdog(v, problems);
        else problems.push_back(key + ": unknown key (expected watchdog)");
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
    return doc;
}

}  // namespace berth::config
