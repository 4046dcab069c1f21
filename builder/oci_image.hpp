// OCI image layouts (what `skopeo copy … oci:DIR`, `podman save --format oci-dir`
// and `umoci` write): index.json -> [image index ->] manifest -> config + layers.
// Every blob read is checked against its digest and size first.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/oci_config_gen.hpp"
#include "builder/tree.hpp"

namespace berth::builder {

// The platform an image index entry must match. `arch` is an OCI architecture
// name ("amd64", "arm64"); for arm64 a variant, if present, must be "v8".
struct Platform {
    std::string os = "linux";
    std::string architecture = "amd64";
};

struct Descriptor {
    std::string media_type;
    std::string digest;  // "sha256:<64 hex>"
    std::uint64_t size = 0;
    nlohmann::json annotations = nlohmann::json::object();
};

struct OciImage {
    std::string layout_dir;
    Descriptor manifest;
    nlohmann::json config;  // the image configuration blob
    std::vector<Descriptor> layers;
    std::string blob_path(const std::string& digest) const;
};

// "sha256:" + hex digest of a file's contents.
std::string sha256_file(const std::string& path);
std::string sha256_hex(const std::string& data);

// True if `dir` holds an OCI layout (an oci-layout file).
bool is_oci_layout(const std::string& dir);

// Reads and checks a blob against its descriptor; `what` names the image in errors.
std::string read_blob(const std::string& layout_dir, const Descriptor& d, const std::string& what);
// Checks a blob file without reading it into memory.
void verify_blob(const std::string& layout_dir, const Descriptor& d, const std::string& what);

Descriptor parse_descriptor(const nlohmann::json& j, const std::string& where);

// The manifest entries of index.json with their ref names ("" if none).
std::vector<Descriptor> layout_entries(const std::string& layout_dir);

// Opens the image tagged `tag` in the layout (any entry if `tag` is empty and
// there is exactly one), choosing the `platform` entry of an image index.
OciImage open_oci_image(const std::string& layout_dir, const std::string& tag, const Platform& platform,
                        const std::string& what);

// From the image config: Entrypoint, Cmd, Env, WorkingDir, User.
ImageDefaults image_defaults(const OciImage& img);
// The org.mobyproject.config label as JSON (null if absent); throws naming the image if malformed.
nlohmann::json mobyproject_label(const OciImage& img, const std::string& what);

// Applies every layer, in order, under `root` in the tree.
void unpack_oci_image(Tree& tree, const std::string& root, const OciImage& img, const std::string& what);

}  // namespace berth::builder
