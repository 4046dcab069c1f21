// YAML nodes to JSON values, remembering where each value came from so that
// errors found while checking the JSON point at a line and column.
#pragma once
#include <map>
#include <string>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "builder/yaml_model.hpp"

namespace berth::builder {

// Plain scalars become true/false, null ("~", "null", empty), or a decimal integer
// when written as one without a leading zero ("0644" stays a string, so file modes
// keep their octal meaning); everything else, and every quoted scalar, is a string.
// `positions` gets one entry per value, keyed "path.key[index]" from `path`.
// Duplicate keys are refused (YamlError naming both places).
nlohmann::json yaml_to_json(const YAML::Node& n, const std::string& path, const std::string& file,
                            std::map<std::string, SourcePos>& positions);

}  // namespace berth::builder
