// Build-time check of berth's service policy keys (restart, timeouts, readiness,
// dependencies, log...) as they will appear in runtime.json's "berth" object, so a
// typo fails `berth build` with the YAML position instead of a boot-time error.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "builder/container_keys.hpp"

namespace berth::builder {

// `entry` is the container's path ("services[1]"); problems go to `fail`.
void validate_policy(const nlohmann::json& policy, const std::string& entry, const KeyFail& fail);

}  // namespace berth::builder
