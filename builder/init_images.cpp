#include "builder/init_images.hpp"

#include "builder/layer_unpack.hpp"
#include "common/error.hpp"
#include "config/image_reference.hpp"

namespace berth::builder {

namespace {

bool is_dir(const TreeEntry* e) { return e && e->kind == TreeEntry::Kind::directory; }

}  // namespace

bool berth_replaces_init_image(const std::string& reference) {
    // The repository without its registry: "docker.io/linuxkit/init:v1" -> "linuxkit/init".
    std::string repo;
    try {
        repo = config::parse_image_reference(reference).repository;
    } catch (const Error&) {
        return false;  // not a reference (a path): never one of LinuxKit's own images
    }
    return repo == "linuxkit/init" || repo == "linuxkit/runc" || repo == "linuxkit/containerd" ||
           repo.rfind("linuxkit/service", 0) == 0;
}

std::size_t merge_init_image(Tree& tree, const ResolvedImage& image) {
    // The image alone first (its own whiteouts apply to its own layers), then on top.
    Tree own;
    add_image_rootfs(own, "r", image);
    std::size_t files = 0;
    for (const auto& [path, entry] : own.entries()) {
        if (path.rfind("r/", 0) != 0) continue;  // "r" itself: the root keeps its entry
        std::string rel = path.substr(2);
        std::size_t slash = rel.rfind('/');
        std::string parent = slash == std::string::npos ? "" : resolve_in_root(tree, "", rel.substr(0, slash));
        std::string dest = (parent.empty() ? "" : parent + "/") + rel.substr(slash == std::string::npos ? 0 : slash + 1);
        const TreeEntry* old = tree.find(dest);
        if (is_dir(&entry) && is_dir(old)) {
            tree.add_entry(dest, entry);  // mode and owner from the image; contents stay
            continue;
        }
        if (old) tree.remove(dest);  // a file over a directory takes its place wholly
        tree.add_entry(dest, entry);
        if (entry.kind == TreeEntry::Kind::bytes_file || entry.kind == TreeEntry::Kind::host_file) ++files;
    }
    return files;
}

}  // namespace berth::builder
