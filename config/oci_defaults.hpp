// berth's secure defaults, shipped as data in config/defaults/:
//   seccomp.json   an OCI `linux.seccomp` object (Docker-strength profile)
//   security.json  {"maskedPaths", "readonlyPaths"} with the spec's field syntax
// The image builder merges them into every generated config.json unless the
// user opts out. Capabilities and rlimits are not defaults: as in LinuxKit, a
// container has those its YAML entry or its image label lists. Both loaders validate and throw ConfigError naming the file.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/oci_spec.hpp"

namespace berth::oci {

// Environment variable that overrides the compiled-in defaults directory.
inline constexpr const char* kDefaultsDirEnv = "BERTH_DEFAULTS_DIR";

// $BERTH_DEFAULTS_DIR when set and non-empty, else the source tree's
// config/defaults (compiled in).
std::string defaults_dir();

struct SecurityDefaults {
    std::vector<std::string> masked_paths;
    std::vector<std::string> readonly_paths;
};

// <dir>/seccomp.json as JSON, ready to be put at config.json's linux.seccomp;
// validated with the same rules as a config.json's profile.
nlohmann::json load_default_seccomp_json(const std::string& dir = defaults_dir());
SecurityDefaults load_security_defaults(const std::string& dir = defaults_dir());

// A config.json to start from, the one `runc spec` writes (a `sh` on a terminal
// in ./rootfs, read-only, with new namespaces, runc's three capabilities, its
// masked and read-only paths, every device denied but the defaults), checked by
// parse_spec. `berth-runc spec` writes it.
nlohmann::json example_spec();

}  // namespace berth::oci
