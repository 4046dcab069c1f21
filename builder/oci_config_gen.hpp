// OCI runtime config.json (and LinuxKit's runtime.json) for one container, with
// LinuxKit's defaults plus berth's secure defaults.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "builder/yaml_model.hpp"
#include "config/oci_spec.hpp"
#include "config/runtime_config.hpp"

namespace berth::builder {

inline constexpr const char* kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// What the image's own config says (OCI image config "config" object), and the
// files that turn user and group names into numbers.
struct ImageDefaults {
    std::vector<std::string> entrypoint, cmd, env;
    std::string working_dir;
    std::string user;           // "", "name", "uid", "uid:gid", "name:group"
    std::string passwd, group;  // the image's /etc/passwd and /etc/group ("" if none)
    // Validating without the image (berth build --dry-run): user and group names
    // are not looked up and a missing command is not an error.
    bool image_absent = false;
};

// berth's secure defaults (from the runtime's defaults directory): applied to every
// container unless the YAML opts out (seccomp: unconfined, maskedPaths: [], readonlyPaths: []).
struct SecurityDefaults {
    nlohmann::json seccomp;  // an OCI linux.seccomp object; null = none
    std::vector<std::string> masked_paths, readonly_paths;
};

// config.json for the container: drafted from the entry, parsed and checked by
// the model PID 1 loads bundles with (oci::parse_spec), and written from that
// model. Throws YamlError at the entry's key (file:line:column) for anything
// PID 1 would refuse, or when something required is missing.
nlohmann::json generate_oci_config(const ContainerSpec& c, const ImageDefaults& image = {},
                                   const SecurityDefaults& security = {});

// The unchecked document generate_oci_config() starts from.
nlohmann::json draft_oci_config(const ContainerSpec& c, const ImageDefaults& image = {},
                                const SecurityDefaults& security = {});

// oci::parse_spec over `draft`, its problems turned into a YamlError at the
// entry's key the first one comes from.
oci::Spec validate_oci_config(const ContainerSpec& c, const nlohmann::json& draft);
// Every problem of that check, each at the key it comes from, for `berth validate`.
std::vector<YamlError> oci_config_errors(const ContainerSpec& c, const nlohmann::json& draft);

// Deterministic text (sorted keys, 2-space indent, trailing newline).
std::string oci_config_text(const ContainerSpec& c, const ImageDefaults& image = {},
                            const SecurityDefaults& security = {});

// runtime.json: the entry's `runtime:` keys plus the "berth" policy object; an
// overlay mount on rootfs/ for a writable container (`lower` is its image).
// Checked by the model PID 1 reads it with; throws a YamlError at the key of
// the first problem.
config::RuntimeConfig runtime_config(const ContainerSpec& c);
// Every problem of that check, each at its key (none: it is valid), for
// `berth validate`.
std::vector<YamlError> runtime_config_errors(const ContainerSpec& c);
// Its document, as written to the bundle.
nlohmann::json generate_runtime_json(const ContainerSpec& c);

// Looks `name_or_id` up in passwd/group text ("redis" -> 100); numbers pass through.
// Throws naming the file when a name is missing.
std::uint32_t resolve_id(const std::string& name_or_id, const std::string& db_text, const char* db_name);

}  // namespace berth::builder
