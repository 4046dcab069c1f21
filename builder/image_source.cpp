#include "builder/image_source.hpp"

#include <cstdlib>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::builder {

std::string image_name_without_tag(const std::string& ref) {
    std::string n = ref;
    if (auto at = n.find('@'); at != std::string::npos) n = n.substr(0, at);
    std::size_t slash = n.rfind('/');
    std::size_t colon = n.rfind(':');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) n = n.substr(0, colon);
    return n;
}

ImageResolver ImageResolver::from_command_line(const std::vector<std::string>& image_dirs) {
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
    return ImageResolver(std::move(path));
}

ResolvedImage ImageResolver::resolve(const ImageSpec& spec, const ContainerSpec& c) const {
    ResolvedImage r;
    r.reference = c.image;
    std::string where = c.image_pos.line > 0 ? c.image_pos.str() : spec.file;
    std::string prefix = where + ": " +
                         (c.stage == Stage::services ? std::string("service")
                                                     : std::string(stage_name(c.stage)) + " container") +
                         " '" + c.name + "': image '" + c.image + "'";
    if (c.image.find('/') != std::string::npos) {
        std::string p = c.image[0] == '/' ? c.image : fs::join(spec.base_dir, c.image);
        if (!fs::is_dir(p))
            throw Error(prefix + ": no such directory `" + p + "` (paths are relative to the YAML file)",
                        ENOENT);
        r.path = p;
        return r;
    }
    std::string name = image_name_without_tag(c.image);
    for (const auto& dir : search_) {
        std::string p = fs::join(dir, name);
        if (fs::is_dir(p)) {
            r.path = p;
            return r;
        }
    }
    std::string msg = prefix + ": not found";
    if (search_.empty()) {
        msg += "; no image directories given (use --images DIR or set BERTH_IMAGES)";
    } else {
        msg += " as a directory '" + name + "' in:";
        for (const auto& d : search_) msg += " " + d;
    }
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
    }
}

}  // namespace berth::builder
