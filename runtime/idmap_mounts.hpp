// Idmapped bind mounts. The launcher's parent makes each one before the clone:
// open_tree(OPEN_TREE_CLONE) of the source, a user namespace carrying the
// mount's mappings, mount_setattr(MOUNT_ATTR_IDMAP). That needs CAP_SYS_ADMIN
// over the file system's superblock (the initial user namespace), which the
// container's process no longer has inside its own user namespace. The child
// inherits the detached trees and moves each onto its resolved target.
#pragma once
#include <string>
#include <vector>

#include "common/fs.hpp"
#include "config/oci_spec.hpp"

namespace berth::runtime {

class IdmappedTrees {
public:
    // Throws Error naming the mount destination when a tree cannot be made
    // (a file system that does not support idmapped mounts: EINVAL).
    static IdmappedTrees prepare(const std::vector<oci::Mount>& mounts, const std::string& bundle_dir);
    // The detached tree for mounts[index], or -1 when that mount is not idmapped.
    int fd_for(size_t index) const { return index < fds_.size() && fds_[index] ? fds_[index].get() : -1; }
    bool empty() const { return fds_.empty(); }

private:
    std::vector<fs::Fd> fds_;
};

// Child side: moves a detached tree onto `target` (already resolved inside the rootfs).
void attach_tree(int tree_fd, const std::string& target);

}  // namespace berth::runtime
