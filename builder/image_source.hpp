// Where a container's root file system comes from.
//
// For now an `image:` is a directory holding a root file system. A value with a '/'
// is a path (relative to the YAML file's directory, or absolute); a bare NAME[:TAG]
// is looked up as NAME in the image search path (--images DIR..., then
// $BERTH_IMAGES, colon separated). OCI image layouts will be another Kind.
#pragma once
#include <string>
#include <vector>

#include "builder/tree.hpp"
#include "builder/yaml_model.hpp"

namespace berth::builder {

struct ResolvedImage {
    enum class Kind { directory };
    Kind kind = Kind::directory;
    std::string reference;  // as written in the YAML
    std::string path;       // directory on the host
};

class ImageResolver {
public:
    explicit ImageResolver(std::vector<std::string> search_path) : search_(std::move(search_path)) {}
    // The --images directories followed by the entries of $BERTH_IMAGES.
    static ImageResolver from_command_line(const std::vector<std::string>& image_dirs);

    ResolvedImage resolve(const ImageSpec& spec, const ContainerSpec& c) const;
    const std::vector<std::string>& search_path() const { return search_; }

private:
    std::vector<std::string> search_;
};

// "busybox:1.36" -> "busybox"; "name@sha256:…" -> "name".
std::string image_name_without_tag(const std::string& ref);

// Adds the image's root file system to `tree` under `path`. Permission bits,
// symlinks and hard links are kept; ownership becomes 0:0 (an image directory is
// usually made by an unprivileged user, and the initrd is root's).
void add_image_rootfs(Tree& tree, const std::string& path, const ResolvedImage& image);

}  // namespace berth::builder
