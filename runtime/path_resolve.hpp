// Resolving container paths on the host side, before pivot_root, so that a
// symlink inside the rootfs can never send a mount outside of it.
#pragma once
#include <string>

namespace berth::runtime {

// Resolves `path` as if `root` were "/": symlinks (absolute or relative) and
// ".." are followed component by component but never leave root. Components
// that do not exist are kept literally. Returns root + resolved path.
// Throws Error (ELOOP after 40 links, or the lstat/readlink errno).
std::string resolve_in_root(const std::string& root, const std::string& path);

// Creates the mount point at an already resolved host path: parent
// directories, then a directory or (for file bind mounts) an empty file.
void create_mount_point(const std::string& resolved, bool as_file);

}  // namespace berth::runtime
