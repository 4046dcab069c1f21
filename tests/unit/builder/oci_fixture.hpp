// Builds small OCI image layouts in a directory for the tests: layers are made
// with libarchive from a list of entries, blobs are named by their sha256.
#pragma once
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::test {

struct LayerEntry {
    enum Type { file, dir, symlink, hardlink } type = file;
    std::string path;
    std::string data;  // file: contents; symlink/hardlink: target
    unsigned mode = 0644;
    unsigned uid = 0, gid = 0;
    std::map<std::string, std::string> xattrs{};  // {} so that short aggregate initialisers draw no warning
};

// Layer bytes: a tar, compressed with "gzip", "zstd" or "" (none).
std::string make_layer(const std::vector<LayerEntry>& entries, const std::string& compression);

class LayoutBuilder {
public:
    explicit LayoutBuilder(std::string dir);
    // Stores a blob, returns its descriptor {mediaType, digest, size}.
    nlohmann::json blob(const std::string& data, const std::string& media_type);
    // A manifest for (config, layers); returns its descriptor.
    nlohmann::json image(const nlohmann::json& config, const std::vector<std::pair<std::string, std::string>>& layers,
                         const std::string& architecture = "amd64");
    // Writes oci-layout and index.json with these descriptors (ref name annotation when given).
    void index(const std::vector<std::pair<nlohmann::json, std::string>>& entries);
    std::string blob_path(const nlohmann::json& d) const;

private:
    std::string dir_;
};

}  // namespace berth::test
