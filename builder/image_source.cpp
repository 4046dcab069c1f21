#include "builder/image_source.hpp"

#include <cstdlib>
#include <filesystem>

#include "builder/image_store.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::builder {

std::string image_tag(const std::string& ref) {
    std::string n = ref.substr(0, ref.find('@'));
    std::size_t slash = n.rfind('/'), colon = n.rfind(':');
    if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) return "";
    return n.substr(colon + 1);
}

ImageResolver ImageResolver::from_command_line(const std::vector<std::string>& image_dirs, const std::string& store_dir,
                                               Platform platform, const std::string& cache_dir) {
    std::vector<std::string> path = image_dirs;
    if (const char* env = std::getenv("BERTH_IMAGES")) {
        std::string s = env;
        std::size_t i = 0;
        while (i <= s.size()) {
            std::size_t j = s.find(':', i);
            if (j == std::string::npos) j = s.size();
            if (j > i) path.push_back(s.substr(i, j - i));
            i = j + 1;
        }
    }
    return ImageResolver(std::move(path), store_dir, std::move(platform), cache_dir);
}

ResolvedImage ImageResolver::from_path(const std::string& p, const std::string& tag, ResolvedImage r) const {
    std::string layout = p;
    if (!fs::is_dir(p)) {
        std::string cache = cache_.empty() ? fs::join(store_.empty() ? default_store_dir() : store_, "tmp") : cache_;
        fs::mkdir_p(cache);
        layout = extract_layout_tarball(p, cache);
    }
    if (is_oci_layout(layout)) {
        r.kind = ResolvedImage::Kind::oci;
        r.path = layout;
        r.oci = open_oci_image(layout, tag, platform_, r.what);
        return r;
    }
    r.kind = ResolvedImage::Kind::directory;
    r.path = p;
    return r;
}

namespace {

// A pinned reference served from a layout: the pin must be the chosen manifest's
// digest or that of an index.json entry of the layout.
void verify_layout_pin(const config::ImageReference& ref, const ResolvedImage& r) {
    if (ref.digest.empty()) return;
    if (r.kind == ResolvedImage::Kind::directory)
        throw Error(r.what + ": pinned to " + ref.digest + " but `" + r.path +
                        "` is a plain directory, which has no digest to check",
                    EINVAL);
    if (r.oci.manifest.digest == ref.digest) return;
    for (const auto& e : layout_entries(r.path))
        if (e.digest == ref.digest) return;
    throw Error(r.what + ": pinned to " + ref.digest + " but the layout `" + r.path + "` has manifest " +
                    r.oci.manifest.digest,
                EINVAL);
}

}  // namespace

ResolvedImage ImageResolver::resolve(const ImageSpec& spec, const ContainerSpec& c) const {
    std::string where = c.image_pos.line > 0 ? c.image_pos.str() : spec.file;
    std::string prefix = where + ": " +
                         (c.stage == Stage::services ? std::string("service")
                                                     : std::string(stage_name(c.stage)) + " container") +
                         " '" + c.name + "': image '" + c.image + "'";
    return resolve(c.image, spec.base_dir, prefix);
}

ResolvedImage ImageResolver::resolve(const std::string& image, const std::string& base_dir,
                                     const std::string& prefix) const {
    ResolvedImage r;
    r.reference = image;
    r.what = prefix;
    if (config::is_image_path(image)) {
        // Normalised for the messages: "./x" beside a YAML in the current
        // directory is `x`, not `././x`.
        std::string p = std::filesystem::path(image[0] == '/' ? image : fs::join(base_dir, image)).lexically_normal();
        if (!fs::exists(p))
            throw Error(prefix + ": no such directory or file `" + p + "` (paths are relative to the YAML file)", ENOENT);
        return from_path(p, "", r);
    }
    config::ImageReference ref;
    try {
        ref = config::parse_image_reference(image);
    } catch (const Error& e) {
        throw Error(prefix + ": " + e.what() + " (a path must start with ./, ../ or /)", EINVAL);
    }
    std::string store = store_.empty() ? default_store_dir() : store_;
    ImageStore st(store);
    auto from_store = [&](const StoreEntry& e) {
        verify_digest_pin(ref, e, prefix);
        r.kind = ResolvedImage::Kind::oci;
        r.path = store;
        r.oci = open_oci_image(store, e.reference, platform_, r.what);
        return r;
    };
    if (auto e = st.find(ref)) {
        if (!pull_) return from_store(*e);
        // With --pull, a reference stored for other platforms only is pulled for this one.
        verify_digest_pin(ref, *e, prefix);
        try {
            return from_store(*e);
        } catch (const Error&) {
            with_context(prefix, [&] { pull_image(ref, *pull_, st, platform_); });
            if (auto again = st.find(ref)) return from_store(*again);
            throw;
        }
    }
    std::vector<std::string> looked = {"the image store `" + store + "`"};
    std::vector<std::string> names = {ref.familiar_name()};
    if (ref.name() != names.front()) names.push_back(ref.name());
    std::string tag = image_tag(image);
    for (const auto& dir : search_)
        for (const auto& name : names) {
            std::string p = fs::join(dir, name);
            if (fs::is_dir(p)) {
                ResolvedImage found = from_path(p, tag, r);
                verify_layout_pin(ref, found);
                return found;
            }
            looked.push_back("`" + p + "`");
        }
    if (pull_) {
        with_context(prefix, [&] { pull_image(ref, *pull_, st, platform_); });
        if (auto e = st.find(ref)) return from_store(*e);
    }
    std::string msg = prefix + ": not found as " + ref.str() + "; looked in " + looked.front();
    for (std::size_t i = 1; i < looked.size(); ++i) msg += (i + 1 == looked.size() ? " and " : ", ") + looked[i];
    if (search_.empty()) msg += " (no image directories given: --images DIR or BERTH_IMAGES)";
    msg += "; pull it with `berth image pull " + ref.str() + "` (or build with --pull), or import it with `berth image import`";
    if (fs::exists(fs::join(base_dir, image)))
        msg += "; to use the path `" + fs::join(base_dir, image) + "` write `./" + image + "`";
    throw Error(msg, ENOENT);
}

void add_image_rootfs(Tree& tree, const std::string& path, const ResolvedImage& image) {
    switch (image.kind) {
        case ResolvedImage::Kind::directory:
            with_context("image `" + image.reference + "`", [&] {
                tree.add_host_tree(path, image.path);
                tree.add_directory(path, 0755);  // the rootfs itself: 0755 root-owned
            });
            return;
        case ResolvedImage::Kind::oci:
            unpack_oci_image(tree, path, image.oci, image.what);
            return;
    }
}

ImageDefaults image_defaults_for(const ResolvedImage& image, const Tree& tree, const std::string& rootfs) {
    ImageDefaults d;
    if (image.kind == ResolvedImage::Kind::oci) d = image_defaults(image.oci);
    auto text = [&](const char* rel) -> std::string {
        const TreeEntry* e = tree.find(rootfs + "/" + rel);
        if (!e) return "";
        if (e->kind == TreeEntry::Kind::bytes_file) return e->data;
        if (e->kind == TreeEntry::Kind::host_file) return fs::try_read_file(e->host_path).value_or("");
        return "";
    };
    d.passwd = text("etc/passwd");
    d.group = text("etc/group");
    return d;
}

}  // namespace berth::builder
