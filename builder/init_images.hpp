// LinuxKit's `init:` section: images whose contents make up the base of the root
// file system, unpacked in order before the containers and `files:`. The images
// that hold LinuxKit's own init, runc, containerd and service daemon are skipped:
// berth's PID 1 does their work.
#pragma once
#include <string>

#include "builder/image_source.hpp"
#include "builder/tree.hpp"

namespace berth::builder {

// True for linuxkit/init, linuxkit/runc, linuxkit/containerd and linuxkit/service*
// (any registry, tag or digest): what berth replaces. Recognised by repository name.
bool berth_replaces_init_image(const std::string& reference);

// Merges the image's root into `tree`'s root: each file replaces what was there,
// a directory keeps what is under it, a path through a symlink already in the
// tree follows it (inside the root), as extracting one image after another does.
// Returns the number of regular files added.
std::size_t merge_init_image(Tree& tree, const ResolvedImage& image);

}  // namespace berth::builder
