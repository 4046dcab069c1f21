#include "config/service_policy.hpp"

#include "config/byte_size.hpp"

#include <signal.h>
#include <string.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "common/fs.hpp"
#include "config/json_document.hpp"
#include "config/signals.hpp"

namespace berth::config {

using json = nlohmann::json;

namespace {

// A string value shown with its quotes, anything else as JSON (dump() quotes and
// escapes strings the same way).
std::string shown(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

// Collects problems with their JSON paths; the checks below add to it and
// leave the default in place when a value is wrong.
struct Checker {
    std::vector<std::string> problems;
    void bad(const std::string& path, const std::string& why) { problems.push_back(path + ": " + why); }

    void duration(const json& v, const std::string& p, Millis& out) {
        if ((v.is_number() && v.get<double>() < 0) || (v.is_string() && !v.get<std::string>().empty() &&
                                                        v.get<std::string>()[0] == '-'))
            return bad(p, "negative duration");
        auto d = parse_duration(v);
        if (!d) return bad(p, "expected a duration such as \"250ms\", \"10s\", \"2m\", \"1h\" or a number of seconds, got " + shown(v));
        out = *d;
    }
    void count(const json& v, const std::string& p, int& out, int min, int max = 1000000) {
        if (!v.is_number_integer() || v.get<std::int64_t>() < min || v.get<std::int64_t>() > max)
            return bad(p, "expected an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", got " +
                              shown(v));
        out = int(v.get<std::int64_t>());
    }
    void flag(const json& v, const std::string& p, bool& out) {
        if (!v.is_boolean()) return bad(p, "expected true or false, got " + shown(v));
        out = v.get<bool>();
    }
    template <class E>
    void choice(const json& v, const std::string& p, E& out, const std::vector<std::pair<const char*, E>>& opts) {
        std::string list;
        for (auto& [name, val] : opts) {
            if (v.is_string() && v.get<std::string>() == name) return void(out = val);
            list += (list.empty() ? "" : ", ") + std::string(name);
        }
        bad(p, "expected one of " + list + ", got " + shown(v));
    }
    void names(const json& v, const std::string& p, std::vector<std::string>& out) {
        if (!v.is_array()) return bad(p, "expected a list of service names, got " + shown(v));
        for (size_t i = 0; i < v.size(); ++i) {
            if (v[i].is_string() && !v[i].get<std::string>().empty()) out.push_back(v[i].get<std::string>());
            else bad(p + "[" + std::to_string(i) + "]", "expected a service name, got " + shown(v[i]));
        }
    }
    // Dispatches every member of an object to its handler; unknown keys are
    // reported with the nearest valid one.
    using Handlers = std::vector<std::pair<const char*, std::function<void(const json&, const std::string&)>>>;
    void object(const json& v, const std::string& p, const Handlers& hs) {
        if (!v.is_object()) return bad(p, "expected an object, got " + shown(v));
        for (auto& [k, x] : v.items()) {
            auto it = std::find_if(hs.begin(), hs.end(), [&](auto& h) { return k == h.first; });
            if (it != hs.end()) {
                it->second(x, p + "." + k);
                continue;
            }
            std::vector<std::string> keys;
            for (auto& h : hs) keys.push_back(h.first);
            std::string near = closest(k, keys);
            bad(p + "." + k, "unknown key" + (near.empty() ? "" : "; did you mean \"" + near + "\"?"));
        }
    }
};

}  // namespace

std::optional<std::uint64_t> parse_size(const json& v) {
    if (v.is_number_integer()) return v.get<std::int64_t>() >= 0 ? std::optional(v.get<std::uint64_t>()) : std::nullopt;
    if (!v.is_string()) return std::nullopt;
    try {
        return parse_byte_size(v.get_ref<const std::string&>());
    } catch (const Error&) {
        return std::nullopt;
    }
}

int parse_signal(const json& v) {
    if (v.is_number_integer()) {
        auto n = v.get<std::int64_t>();
        return n > 0 && n < NSIG ? int(n) : 0;
    }
    if (!v.is_string()) return 0;
    return signal_from_name(v.get_ref<const std::string&>()).value_or(0);
}

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
    auto distance = [](const std::string& a, const std::string& b) {
        std::vector<size_t> row(b.size() + 1);
        for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
        for (size_t i = 1; i <= a.size(); ++i) {
            size_t diag = row[0];
            row[0] = i;
            for (size_t j = 1; j <= b.size(); ++j) {
                size_t up = row[j];
                bool same = std::tolower((unsigned char)a[i - 1]) == std::tolower((unsigned char)b[j - 1]);
                row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
                diag = up;
            }
        }
        return row[b.size()];
    };
    std::string best;
    size_t best_d = std::max<size_t>(3, word.size() / 3) + 1;
    for (const auto& c : candidates) {
        size_t d = distance(word, c);
        if (d < best_d) best = c, best_d = d;
    }
    return best;
}

ServicePolicy parse_service_policy(const json& berth, const std::string& source) {
    ServicePolicy p;
    Checker c;
    using PA = PowerOnFailure;
    c.object(berth, "berth", {
        {"restart", [&](auto& v, auto& at) { c.choice<Restart>(v, at, p.restart, {{"no", Restart::no}, {"on-failure", Restart::on_failure}, {"always", Restart::always}}); }},
        {"restartDelay", [&](auto& v, auto& at) { c.duration(v, at, p.restart_delay_ms); }},
        {"restartDelayMax", [&](auto& v, auto& at) { c.duration(v, at, p.restart_delay_max_ms); }},
        {"restartResetAfter", [&](auto& v, auto& at) { c.duration(v, at, p.restart_reset_after_ms); }},
        {"giveUp", [&](auto& v, auto& at) {
            GiveUp g;
            bool has_failures = false;
            c.object(v, at, {
                {"failures", [&](auto& x, auto& a) { has_failures = true; c.count(x, a, g.failures, 1); }},
                {"window", [&](auto& x, auto& a) { c.duration(x, a, g.window_ms); }},
                {"action", [&](auto& x, auto& a) { c.choice<PA>(x, a, g.action, {{"none", PA::none}, {"reboot", PA::reboot}, {"poweroff", PA::poweroff}}); }},
            });
            if (v.is_object() && !has_failures) c.bad(at + ".failures", "required");
            p.give_up = g;
        }},
        {"stopSignal", [&](auto& v, auto& at) {
            int s = parse_signal(v);
            if (s) p.stop_signal = s;
            else c.bad(at, "expected a signal name such as \"SIGTERM\" or a number, got " + shown(v));
        }},
        {"stopTimeout", [&](auto& v, auto& at) { c.duration(v, at, p.stop_timeout_ms); }},
        {"timeout", [&](auto& v, auto& at) { c.duration(v, at, p.timeout_ms); }},
        {"onFailure", [&](auto& v, auto& at) { c.choice<PA>(v, at, p.on_failure, {{"continue", PA::cont}, {"poweroff", PA::poweroff}, {"reboot", PA::reboot}}); }},
        {"dependsOn", [&](auto& v, auto& at) { c.names(v, at, p.depends_on); }},
        {"waitsFor", [&](auto& v, auto& at) { c.names(v, at, p.waits_for); }},
        {"after", [&](auto& v, auto& at) { c.names(v, at, p.after); }},
        {"readiness", [&](auto& v, auto& at) {
            c.object(v, at, {
                {"type", [&](auto& x, auto& a) { c.choice<Readiness>(x, a, p.readiness, {{"none", Readiness::none}, {"notify-fd", Readiness::notify_fd}, {"systemd", Readiness::systemd}}); }},
                {"fd", [&](auto& x, auto& a) { c.count(x, a, p.readiness_fd, 3, ServicePolicy::kMaxReadinessFd); }},
                {"timeout", [&](auto& x, auto& a) { c.duration(x, a, p.readiness_timeout_ms); }},
            });
        }},
        {"watchdog", [&](auto& v, auto& at) { c.duration(v, at, p.watchdog_ms); }},
        {"devices", [&](auto& v, auto& at) {
            if (!v.is_array()) return c.bad(at, "expected a list of devices {match, mode, uid, gid}, got " + shown(v));
            for (size_t i = 0; i < v.size(); ++i)
                p.devices.push_back(parse_device_match(v[i], at + "[" + std::to_string(i) + "]", c.problems));
        }},
        {"log", [&](auto& v, auto& at) {
            c.object(v, at, {
                {"console", [&](auto& x, auto& a) { c.flag(x, a, p.log.console); }},
                {"file", [&](auto& x, auto& a) { c.flag(x, a, p.log.file); }},
                {"maxSize", [&](auto& x, auto& a) {
                    auto s = parse_size(x);
                    if (s && *s >= 4096) p.log.max_size = *s;
                    else c.bad(a, "expected a size of at least 4KiB such as \"512KiB\", \"1MiB\" or a number of bytes, got " + shown(x));
                }},
                {"keep", [&](auto& x, auto& a) { c.count(x, a, p.log.keep, 0, LogPolicy::kMaxKeep); }},
                {"ringLines", [&](auto& x, auto& a) { c.count(x, a, p.log.ring_lines, 1, LogPolicy::kMaxRingLines); }},
            });
        }},
    });
    if (p.restart_delay_max_ms < p.restart_delay_ms)
        c.bad("berth.restartDelayMax", "shorter than restartDelay");
    if (!c.problems.empty()) throw ConfigError(source, c.problems);
    return p;
}

json to_json(const ServicePolicy& p) {
    const ServicePolicy d;
    json o = json::object();
    auto dur = [&](const char* key, Millis v, Millis def) {
        if (v != def) o[key] = format_duration(v);
    };
    if (p.restart != d.restart) o["restart"] = restart_name(p.restart);
    dur("restartDelay", p.restart_delay_ms, d.restart_delay_ms);
    dur("restartDelayMax", p.restart_delay_max_ms, d.restart_delay_max_ms);
    dur("restartResetAfter", p.restart_reset_after_ms, d.restart_reset_after_ms);
    if (p.give_up) {
        json g = {{"failures", p.give_up->failures}};
        if (p.give_up->window_ms) g["window"] = format_duration(p.give_up->window_ms);
        if (p.give_up->action != PowerOnFailure::none) g["action"] = power_action_name(p.give_up->action);
        o["giveUp"] = g;
    }
    if (p.stop_signal != d.stop_signal) {
        std::string name = signal_name(p.stop_signal);
        o["stopSignal"] = name.empty() ? json(p.stop_signal) : json(name);
    }
    dur("stopTimeout", p.stop_timeout_ms, d.stop_timeout_ms);
    dur("timeout", p.timeout_ms, d.timeout_ms);
    if (p.on_failure != d.on_failure) o["onFailure"] = power_action_name(p.on_failure);
    if (!p.depends_on.empty()) o["dependsOn"] = p.depends_on;
    if (!p.waits_for.empty()) o["waitsFor"] = p.waits_for;
    if (!p.after.empty()) o["after"] = p.after;
    json r = json::object();
    if (p.readiness != d.readiness) r["type"] = readiness_name(p.readiness);
    if (p.readiness_fd != d.readiness_fd) r["fd"] = p.readiness_fd;
    if (p.readiness_timeout_ms != d.readiness_timeout_ms) r["timeout"] = format_duration(p.readiness_timeout_ms);
    if (!r.empty()) o["readiness"] = r;
    dur("watchdog", p.watchdog_ms, d.watchdog_ms);
    json l = json::object();
    if (p.log.console != d.log.console) l["console"] = p.log.console;
    if (p.log.file != d.log.file) l["file"] = p.log.file;
    if (p.log.max_size != d.log.max_size) l["maxSize"] = p.log.max_size;
    if (p.log.keep != d.log.keep) l["keep"] = p.log.keep;
    if (p.log.ring_lines != d.log.ring_lines) l["ringLines"] = p.log.ring_lines;
    if (!l.empty()) o["log"] = l;
    if (!p.devices.empty()) {
        json list = json::array();
        for (const auto& m : p.devices) list.push_back(to_json(m));
        o["devices"] = list;
    }
    return o;
}

ServicePolicy load_service_policy(const std::string& bundle_dir) {
    std::string path = fs::join(bundle_dir, "runtime.json");
    std::optional<json> read = read_json_document(path);
    if (!read) return {};
    const json& doc = *read;
    if (!doc.is_object()) throw ConfigError(path, {"expected an object"});
    auto it = doc.find("berth");
    if (it == doc.end() || it->is_null()) return {};
    return parse_service_policy(*it, path);
}

const char* restart_name(Restart r) {
    switch (r) {
        case Restart::no: return "no";
        case Restart::on_failure: return "on-failure";
        case Restart::always: return "always";
    }
    return "?";
}

const char* power_action_name(PowerOnFailure a) {
    switch (a) {
        case PowerOnFailure::none: return "none";
        case PowerOnFailure::cont: return "continue";
        case PowerOnFailure::poweroff: return "poweroff";
        case PowerOnFailure::reboot: return "reboot";
    }
    return "?";
}

const char* readiness_name(Readiness r) {
    switch (r) {
        case Readiness::none: return "none";
        case Readiness::notify_fd: return "notify-fd";
        case Readiness::systemd: return "systemd";
    }
    return "?";
}

}  // namespace berth::config
