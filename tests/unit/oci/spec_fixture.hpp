// A minimal valid config.json shared by the OCI tests, and the problems the
// parser reports for a config.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/oci_spec.hpp"

inline nlohmann::json minimal_config() {
    return nlohmann::json::parse(R"({
      "ociVersion": "1.0.2",
      "root": {"path": "rootfs"},
      "process": {"args": ["/bin/sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
      "linux": {"namespaces": [{"type": "mount"}]}
    })");
}

// The problems parse_spec reports for j ("path: reason" each), or {} when it is valid.
inline std::vector<std::string> spec_problems(const nlohmann::json& j, const std::string& source = "config.json") {
    try {
        berth::oci::parse_spec(j, source);
    } catch (const berth::oci::ConfigError& e) {
        return e.problems();
    }
    return {};
}
