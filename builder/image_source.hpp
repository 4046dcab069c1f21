// Where a container's root file system comes from.
//
// An `image:` value is resolved in this order:
//  - a value starting with "./", "../" or "/" is a path (relative to the YAML
//    file's directory, or absolute): an OCI image layout directory, an OCI layout
//    tarball (oci-archive), or a plain directory holding a root file system;
//  - anything else is an image reference, [REGISTRY/]NAME[:TAG][@sha256:DIGEST]
//    (config/image_reference.hpp), looked up by its normalised form in the image
//    store (`berth image import`/`pull`), then in the image search path (--images
//    DIR..., then $BERTH_IMAGES, colon separated) as DIR/NAME with NAME as people
//    write it ("busybox", "linuxkit/getty") or in full ("docker.io/linuxkit/getty"),
//    where it may again be a layout or a plain directory;
//  - with pulling enabled (`berth build --pull`), a reference found nowhere (or
//    stored for other platforms only) is
//    pulled from its registry into the store.
// A digest pin must match the stored image (or the layout's manifest); a plain
// directory cannot prove a digest and is refused for a pinned reference.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "builder/image_pull.hpp"
#include "builder/oci_image.hpp"
#include "builder/tree.hpp"
#include "builder/yaml_model.hpp"

namespace berth::builder {

struct ResolvedImage {
    enum class Kind { directory, oci };
    Kind kind = Kind::directory;
    std::string reference;  // as written in the YAML
    std::string path;       // directory on the host (the rootfs, or the layout)
    OciImage oci;           // Kind::oci: the manifest chosen, its config and layers
    std::string what;       // "image `redis` (store `…`)" for messages
};

class ImageResolver {
public:
    explicit ImageResolver(std::vector<std::string> search_path, std::string store_dir = "",
                           Platform platform = {}, std::string cache_dir = "")
        : search_(std::move(search_path)), store_(std::move(store_dir)), platform_(std::move(platform)),
          cache_(std::move(cache_dir)) {}
    // The --images directories followed by the entries of $BERTH_IMAGES.
    static ImageResolver from_command_line(const std::vector<std::string>& image_dirs, const std::string& store_dir = "",
                                           Platform platform = {}, const std::string& cache_dir = "");

    ResolvedImage resolve(const ImageSpec& spec, const ContainerSpec& c) const;
    // The same for any `image:` value (a kernel or init image): paths are relative
    // to `base_dir`; `what` starts every message ("FILE:LINE:COL: kernel image 'X'").
    ResolvedImage resolve(const std::string& image, const std::string& base_dir, const std::string& what) const;
    // References found nowhere are pulled into the store (berth build --pull).
    void enable_pull(RegistryOptions opts) { pull_ = std::move(opts); }
    const std::vector<std::string>& search_path() const { return search_; }

private:
    ResolvedImage from_path(const std::string& path, const std::string& tag, ResolvedImage r) const;
    std::vector<std::string> search_;
    std::string store_;
    Platform platform_;
    std::string cache_;
    std::optional<RegistryOptions> pull_;
};

// "busybox:1.36" -> "1.36"; "" when there is none.
std::string image_tag(const std::string& ref);

// Adds the image's root file system to `tree` under `path`. A directory keeps
// permission bits, symlinks and hard links with ownership 0:0 (it is usually made
// by an unprivileged user); an OCI image keeps the owners its layers give.
void add_image_rootfs(Tree& tree, const std::string& path, const ResolvedImage& image);

// The image-side defaults for config.json: the OCI config, and /etc/passwd and
// /etc/group from the unpacked root (`rootfs` in the tree) to resolve names.
ImageDefaults image_defaults_for(const ResolvedImage& image, const Tree& tree, const std::string& rootfs);

}  // namespace berth::builder
