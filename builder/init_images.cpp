#include "builder/init_images.hpp"

#include "builder/layer_unpack.hpp"
#include "common/error.hpp"

namespace berth::builder {

namespace {

bool is_dir(const TreeEntry* e) { return e && e->kind == TreeEntry::Kind::directory; }

// "docker.io/linuxkit/init:v1@sha256:…" -> "linuxkit/init".
std::string repository(const std::string& reference) {
    std::string name = image_name_without_tag(reference);
    std::size_t slash = name.find('/');
    if (slash != std::string::npos) {
        std::string first = name.substr(0, slash);
        // A registry host: has a dot or a port, or is localhost.
        if (first.find_first_of(".:") != std::string::npos || first == "localhost") name = name.substr(slash + 1);
    }
    return name;
}

}  // namespace

bool berth_replaces_init_image(const std::string& reference) {
    std::string repo = repository(reference);
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
