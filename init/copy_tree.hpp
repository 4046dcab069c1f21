// Copies a directory tree between file systems, preserving modes, owners,
// symlinks, device nodes and hard links. With `move`, each source entry is
// removed as soon as it is copied, so an initramfs is freed as it goes.
#pragma once
#include <set>
#include <string>

namespace berth::init {

struct CopyStats {
    unsigned long files = 0, dirs = 0, links = 0, bytes = 0, errors = 0;
    std::string first_error;
};

// Copies the children of `from` into `to` (which must exist). Entries whose
// path relative to `from` is in `skip` are left alone (and not descended).
// Errors are counted and the copy goes on: a partial root is better than none.
CopyStats copy_tree(const std::string& from, const std::string& to, bool move,
                    const std::set<std::string>& skip = {});

}  // namespace berth::init
