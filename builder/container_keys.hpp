// The per-image keys of a container entry (LinuxKit's schema plus berth's own),
// applied from a JSON object onto a ContainerSpec.
//
// The same table validates the YAML entry (converted to JSON, so errors map back
// to a line and column) and an image's org.mobyproject.config label. LinuxKit
// merges them key by key: the label gives defaults, every key the YAML sets
// replaces the label's value, except `binds.add`, which appends to `binds`.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/yaml_model.hpp"

namespace berth::builder {

// Reports a problem at a path ("services[0].binds[1]") and must throw.
using KeyFail = std::function<void(const std::string& path, const std::string& message)>;

// A volume name as LinuxKit allows it (lower-case letters, digits, '_', '-'); a
// bind source that is not an absolute path names a volume.
bool is_volume_name(const std::string& s);

// Every key a container entry accepts, including name and image.
const std::vector<std::string>& container_key_names();
// berth's service policy keys (the SHARED CONTRACT list), copied into runtime.json.
const std::vector<std::string>& policy_key_names();

// Applies the keys of `obj` (a JSON object; `name` and `image` are skipped) to `c`.
// Unknown keys and malformed values call `fail` with the value's path.
void apply_container_keys(ContainerSpec& c, const nlohmann::json& obj, const std::string& path,
                          const KeyFail& fail);

// linux.resources' blockIO as LinuxKit's schema spells it (Go matches JSON keys
// ignoring case); the YAML may use either spelling.
inline constexpr const char* kBlockIoModel = "blockIO";
inline constexpr const char* kBlockIoLinuxKit = "blockio";

// The path to show for a fail() path: "x.y#key" (an unknown key y) shows as "x".
std::string key_error_path(const std::string& path);
// A KeyFail throwing YamlError at the position recorded in c.key_pos.
KeyFail yaml_key_fail(const ContainerSpec& c);

// A fresh spec with the label's keys, then the YAML's keys (c.yaml_keys) on top.
// `label_source` names the label in errors ("image `redis` label org.mobyproject.config").
ContainerSpec merge_label(const ContainerSpec& c, const nlohmann::json& label,
                          const std::string& label_source);

}  // namespace berth::builder
