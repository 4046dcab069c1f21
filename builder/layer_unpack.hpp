// Applies OCI image layers (tar, optionally gzip or zstd compressed) to a Tree.
//
// OCI whiteouts are honoured: ".wh.NAME" deletes NAME from the lower layers and
// ".wh..wh..opq" empties its directory of lower-layer content. Modes, owners,
// xattrs and hard links are kept; symlinks met on the way to an entry are followed
// inside the image root only, and a name with ".." or a hard link pointing
// outside the root is refused. Block devices and FIFOs are skipped with a warning.
#pragma once
#include <string>

#include "builder/tree.hpp"

namespace berth::builder {

struct LayerStats {
    std::size_t entries = 0;
    std::size_t whiteouts = 0;
    std::uint64_t bytes = 0;  // regular file data
};

// `root` is the image root in the tree ("containers/services/x/rootfs"); `what`
// names the layer in errors ("layer sha256:ab12… of image `redis`").
LayerStats apply_layer(Tree& tree, const std::string& root, const std::string& blob_path,
                       const std::string& what);

// Resolves directory `rel` under `root` in the tree, following symlinks of every
// component inside `root` (an absolute target or ".." stops at `root`).
std::string resolve_in_root(const Tree& tree, const std::string& root, const std::string& rel);

}  // namespace berth::builder
