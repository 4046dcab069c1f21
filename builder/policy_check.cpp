#include "builder/policy_check.hpp"

#include <algorithm>

#include "builder/suggest.hpp"

namespace berth::builder {

using nlohmann::json;

namespace {

std::string describe(const json& v) { return v.is_string() ? "'" + v.get<std::string>() + "'" : v.dump(); }

void duration(const json& v, const std::string& p, const KeyFail& fail) {
    if (v.is_number() && v.get<double>() >= 0) return;
    if (v.is_string() && parse_duration_ms(v.get<std::string>())) return;
    fail(p, "expected a non-negative duration such as \"250ms\", \"10s\", \"2m\", \"1h\" or a number of seconds, got " +
                describe(v));
}

void one_of(const json& v, const std::string& p, const KeyFail& fail, const std::vector<std::string>& ok) {
    if (v.is_string() && std::find(ok.begin(), ok.end(), v.get<std::string>()) != ok.end()) return;
    std::string list;
    for (const auto& o : ok) list += (list.empty() ? "" : ", ") + o;
    fail(p, "expected one of " + list + ", got " + describe(v));
}

void count(const json& v, const std::string& p, const KeyFail& fail) {
    if (!v.is_number_unsigned()) fail(p, "expected a non-negative number, got " + describe(v));
}

void size(const json& v, const std::string& p, const KeyFail& fail) {
    if (v.is_number_unsigned()) return;
    if (v.is_string()) {
        std::string s = v.get<std::string>();
        std::size_t i = s.find_first_not_of("0123456789");
        std::string unit = i == std::string::npos ? "" : s.substr(i);
        if (i != 0 && (unit.empty() || unit == "B" || unit == "KiB" || unit == "MiB" || unit == "GiB")) return;
    }
    fail(p, "expected a size such as \"512KiB\", \"1MiB\" or a number of bytes, got " + describe(v));
}

void names(const json& v, const std::string& p, const KeyFail& fail) {
    if (!v.is_array()) fail(p, "expected a list of service names, got " + describe(v));
    for (std::size_t i = 0; i < v.size(); ++i)
        if (!v[i].is_string() || v[i].get<std::string>().empty())
            fail(p + "[" + std::to_string(i) + "]", "expected a service name, got " + describe(v[i]));
}

void object(const json& v, const std::string& p, const KeyFail& fail,
            const std::vector<std::pair<std::string, std::function<void(const json&, const std::string&)>>>& keys) {
    if (!v.is_object()) fail(p, "expected a map, got " + describe(v));
    for (const auto& [k, x] : v.items()) {
        auto it = std::find_if(keys.begin(), keys.end(), [&](const auto& e) { return e.first == k; });
        if (it != keys.end()) {
            it->second(x, p + "." + k);
            continue;
        }
        std::vector<std::string> n;
        for (const auto& e : keys) n.push_back(e.first);
        auto best = closest_match(k, n);
        fail(p, "unknown key '" + k + "'" + (best ? "; did you mean '" + *best + "'?" : ""));
    }
}

}  // namespace

void validate_policy(const json& policy, const std::string& entry, const KeyFail& f) {
    for (const auto& [k, v] : policy.items()) {
        std::string p = entry + "." + k;
        if (k == "restart") one_of(v, p, f, {"no", "on-failure", "always"});
        else if (k == "restartDelay" || k == "restartDelayMax" || k == "restartResetAfter" || k == "stopTimeout" ||
                 k == "timeout" || k == "watchdog")
            duration(v, p, f);
        else if (k == "onFailure") one_of(v, p, f, {"continue", "poweroff", "reboot"});
        else if (k == "dependsOn" || k == "waitsFor" || k == "after") names(v, p, f);
        else if (k == "stopSignal") {
            bool ok = (v.is_number_unsigned() && v.get<unsigned>() >= 1 && v.get<unsigned>() <= 64) ||
                      (v.is_string() && !v.get<std::string>().empty() &&
                       v.get<std::string>().find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+") == std::string::npos);
            if (!ok) f(p, "expected a signal name such as \"SIGTERM\" or a number from 1 to 64, got " + describe(v));
        } else if (k == "giveUp") {
            object(v, p, f, {{"failures", [&](const json& x, const std::string& q) { count(x, q, f); }},
                             {"window", [&](const json& x, const std::string& q) { duration(x, q, f); }},
                             {"action", [&](const json& x, const std::string& q) {
                                  one_of(x, q, f, {"none", "reboot", "poweroff"});
                              }}});
        } else if (k == "readiness") {
            object(v, p, f, {{"type", [&](const json& x, const std::string& q) {
                                  one_of(x, q, f, {"none", "notify-fd", "systemd"});
                              }},
                             {"fd", [&](const json& x, const std::string& q) {
                                  if (!x.is_number_unsigned() || x.get<unsigned>() < 3 || x.get<unsigned>() > 1023)
                                      f(q, "expected a file descriptor number from 3 to 1023, got " + describe(x));
                              }},
                             {"timeout", [&](const json& x, const std::string& q) { duration(x, q, f); }}});
        } else if (k == "log") {
            auto boolean = [&](const json& x, const std::string& q) {
                if (!x.is_boolean()) f(q, "expected true or false, got " + describe(x));
            };
            object(v, p, f, {{"console", boolean},
                             {"file", boolean},
                             {"maxSize", [&](const json& x, const std::string& q) { size(x, q, f); }},
                             {"keep", [&](const json& x, const std::string& q) { count(x, q, f); }},
                             {"ringLines", [&](const json& x, const std::string& q) { count(x, q, f); }}});
        }
    }
}

}  // namespace berth::builder
