// OCI runtime config.json for one container, with LinuxKit's defaults.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "builder/yaml_model.hpp"

namespace berth::builder {

inline constexpr const char* kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Throws YamlError (pointing at the container) when something required is missing.
nlohmann::json generate_oci_config(const ContainerSpec& c);

// Deterministic text (sorted keys, 2-space indent, trailing newline).
std::string oci_config_text(const ContainerSpec& c);

}  // namespace berth::builder
