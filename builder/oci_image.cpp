#include "builder/oci_image.hpp"

#include <fcntl.h>
#include <nettle/sha2.h>

#include "common/sha256.hpp"
#include <sys/stat.h>
#include <unistd.h>

#include "builder/layer_unpack.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::builder {

using nlohmann::json;

namespace {

const char* kManifestTypes[] = {"application/vnd.oci.image.manifest.v1+json",
                                "application/vnd.docker.distribution.manifest.v2+json"};
const char* kIndexTypes[] = {"application/vnd.oci.image.index.v1+json",
                             "application/vnd.docker.distribution.manifest.list.v2+json"};

bool one_of(const std::string& s, const char* const* list, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        if (s == list[i]) return true;
    return false;
}
bool is_manifest(const std::string& t) { return one_of(t, kManifestTypes, 2); }
bool is_index(const std::string& t) { return one_of(t, kIndexTypes, 2); }

std::string hex(const std::uint8_t* d, std::size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        out += digits[d[i] >> 4];
        out += digits[d[i] & 15];
    }
    return out;
}

json parse_json(const std::string& text, const std::string& where) {
    try {
        return json::parse(text);
    } catch (const json::exception& e) {
        throw Error(where + ": not valid JSON: " + e.what(), EINVAL);
    }
}

std::string ref_name(const Descriptor& d) {
    return d.annotations.value("org.opencontainers.image.ref.name", "");
}

}  // namespace

std::string OciImage::blob_path(const std::string& digest) const {
    return layout_dir + "/blobs/sha256/" + digest.substr(7);
}

std::string sha256_hex(const std::string& data) { return digest::sha256_hex(data); }

std::string sha256_file(const std::string& path) {
    fs::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open `" + path + "`");
    sha256_ctx ctx;
    sha256_init(&ctx);
    std::vector<std::uint8_t> buf(1 << 16);
    for (;;) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("read `" + path + "`");
        if (n == 0) break;
        sha256_update(&ctx, std::size_t(n), buf.data());
    }
    std::uint8_t d[SHA256_DIGEST_SIZE];
    sha256_digest(&ctx, sizeof d, d);
    return "sha256:" + hex(d, sizeof d);
}

bool is_oci_layout(const std::string& dir) { return fs::exists(dir + "/oci-layout") && fs::exists(dir + "/index.json"); }

Descriptor parse_descriptor(const json& j, const std::string& where) {
    if (!j.is_object()) throw Error(where + ": expected a descriptor object", EINVAL);
    Descriptor d;
    d.media_type = j.value("mediaType", "");
    if (!j.contains("digest") || !j["digest"].is_string()) throw Error(where + ": missing 'digest'", EINVAL);
    d.digest = j["digest"].get<std::string>();
    if (d.digest.size() != 71 || d.digest.rfind("sha256:", 0) != 0 ||
        d.digest.find_first_not_of("0123456789abcdef", 7) != std::string::npos)
        throw Error(where + ": digest `" + d.digest + "` is not sha256:<64 lowercase hex digits>", EINVAL);
    if (!j.contains("size") || !j["size"].is_number_unsigned()) throw Error(where + ": missing 'size'", EINVAL);
    d.size = j["size"].get<std::uint64_t>();
    if (j.contains("annotations") && j["annotations"].is_object()) d.annotations = j["annotations"];
    if (j.contains("platform")) d.annotations["berth.platform"] = j["platform"];
    return d;
}

void verify_blob(const std::string& layout_dir, const Descriptor& d, const std::string& what) {
    std::string path = layout_dir + "/blobs/sha256/" + d.digest.substr(7);
    struct stat st;
    if (::stat(path.c_str(), &st) < 0) throw_errno(what + ": blob " + d.digest + " (`" + path + "`)");
    if (std::uint64_t(st.st_size) != d.size)
        throw Error(what + ": blob " + d.digest + " is " + std::to_string(st.st_size) + " bytes, its descriptor says " +
                        std::to_string(d.size),
                    EINVAL);
    std::string got = sha256_file(path);
    if (got != d.digest)
        throw Error(what + ": blob " + d.digest + " is corrupt: its content hashes to " + got, EINVAL);
}

std::string read_blob(const std::string& layout_dir, const Descriptor& d, const std::string& what) {
    verify_blob(layout_dir, d, what);
    return fs::read_file(layout_dir + "/blobs/sha256/" + d.digest.substr(7));
}

std::vector<Descriptor> layout_entries(const std::string& dir) {
    if (!is_oci_layout(dir)) throw Error("`" + dir + "` is not an OCI image layout (no oci-layout or index.json)", ENOENT);
    json layout = parse_json(fs::read_file(dir + "/oci-layout"), dir + "/oci-layout");
    if (layout.value("imageLayoutVersion", "") != "1.0.0")
        throw Error(dir + "/oci-layout: unsupported imageLayoutVersion", EINVAL);
    json index = parse_json(fs::read_file(dir + "/index.json"), dir + "/index.json");
    std::vector<Descriptor> out;
    const json& m = index.contains("manifests") ? index["manifests"] : json::array();
    if (!m.is_array()) throw Error(dir + "/index.json: 'manifests' is not a list", EINVAL);
    for (std::size_t i = 0; i < m.size(); ++i)
        out.push_back(parse_descriptor(m[i], dir + "/index.json: manifests[" + std::to_string(i) + "]"));
    return out;
}

OciImage open_oci_image(const std::string& dir, const std::string& tag, const Platform& platform,
                        const std::string& what) {
    std::vector<Descriptor> entries = layout_entries(dir);
    std::vector<Descriptor> match;
    for (const auto& e : entries) {
        std::string ref = ref_name(e);
        if (tag.empty() || ref == tag || (ref.size() > tag.size() && ref.compare(ref.size() - tag.size() - 1, std::string::npos, ":" + tag) == 0))
            match.push_back(e);
    }
    if (match.empty() || (tag.empty() && match.size() > 1)) {
        std::string refs;
        for (const auto& e : entries) refs += " " + (ref_name(e).empty() ? e.digest : ref_name(e));
        throw Error(what + ": " + (tag.empty() ? "the layout holds " + std::to_string(entries.size()) + " images; name one"
                                               : "no image tagged `" + tag + "`") +
                        " (it has:" + (refs.empty() ? " nothing" : refs) + ")",
                    ENOENT);
    }
    Descriptor d = match.front();
    // Image indexes (manifest lists): pick the entry for the target platform.
    for (int depth = 0; is_index(d.media_type) || d.media_type.empty(); ++depth) {
        json idx = parse_json(read_blob(dir, d, what), what + ": index " + d.digest);
        if (d.media_type.empty() && idx.contains("config")) {  // an untyped manifest
            d.media_type = kManifestTypes[0];
            break;
        }
        if (depth > 4) throw Error(what + ": image indexes nested too deeply", ELOOP);
        std::vector<std::string> seen;
        bool found = false;
        const json& ms = idx.value("manifests", json::array());
        for (std::size_t i = 0; i < ms.size(); ++i) {
            Descriptor e = parse_descriptor(ms[i], what + ": index " + d.digest + ": manifests[" + std::to_string(i) + "]");
            json p = ms[i].value("platform", json::object());
            std::string os = p.value("os", ""), arch = p.value("architecture", ""), variant = p.value("variant", "");
            seen.push_back(os + "/" + arch + (variant.empty() ? "" : "/" + variant));
            if (os == platform.os && arch == platform.architecture &&
                (platform.architecture != "arm64" || variant.empty() || variant == "v8")) {
                d = e;
                found = true;
                break;
            }
        }
        if (!found) {
            std::string list;
            for (const auto& s : seen) list += " " + s;
            throw Error(what + ": no image for " + platform.os + "/" + platform.architecture + " in its index (it has:" +
                            (list.empty() ? " nothing" : list) + ")",
                        ENOENT);
        }
    }
    if (!is_manifest(d.media_type))
        throw Error(what + ": " + d.digest + " has media type `" + d.media_type + "`, not an image manifest", EINVAL);
    OciImage img;
    img.layout_dir = dir;
    img.manifest = d;
    json manifest = parse_json(read_blob(dir, d, what), what + ": manifest " + d.digest);
    if (!manifest.contains("config")) throw Error(what + ": manifest " + d.digest + " has no config", EINVAL);
    Descriptor cfg = parse_descriptor(manifest["config"], what + ": manifest " + d.digest + ": config");
    img.config = parse_json(read_blob(dir, cfg, what), what + ": config " + cfg.digest);
    if (img.config.contains("architecture") && img.config["architecture"] != platform.architecture)
        throw Error(what + ": the image is for " + img.config["architecture"].get<std::string>() + ", not " +
                        platform.architecture,
                    EINVAL);
    const json& layers = manifest.value("layers", json::array());
    for (std::size_t i = 0; i < layers.size(); ++i) {
        Descriptor l = parse_descriptor(layers[i], what + ": manifest " + d.digest + ": layers[" + std::to_string(i) + "]");
        if (l.media_type.find("tar") == std::string::npos)
            throw Error(what + ": layer " + l.digest + " has media type `" + l.media_type + "`, not a tar layer", EINVAL);
        if (l.media_type.find("encrypted") != std::string::npos)
            throw Error(what + ": layer " + l.digest + " is encrypted", EINVAL);
        img.layers.push_back(l);
    }
    return img;
}

ImageDefaults image_defaults(const OciImage& img) {
    ImageDefaults d;
    const json& c = img.config.value("config", json::object());
    auto list = [&](const char* k) {
        std::vector<std::string> out;
        if (c.contains(k) && c[k].is_array())
            for (const auto& x : c[k])
                if (x.is_string()) out.push_back(x);
        return out;
    };
    d.entrypoint = list("Entrypoint");
    d.cmd = list("Cmd");
    d.env = list("Env");
    if (c.contains("WorkingDir") && c["WorkingDir"].is_string()) d.working_dir = c["WorkingDir"];
    if (c.contains("User") && c["User"].is_string()) d.user = c["User"];
    return d;
}

json mobyproject_label(const OciImage& img, const std::string& what) {
    const json& c = img.config.value("config", json::object());
    const json& labels = c.value("Labels", json::object());
    if (!labels.is_object() || !labels.contains("org.mobyproject.config")) return nullptr;
    if (!labels["org.mobyproject.config"].is_string())
        throw Error(what + ": label org.mobyproject.config is not a string", EINVAL);
    return parse_json(labels["org.mobyproject.config"].get<std::string>(), what + ": label org.mobyproject.config");
}

void unpack_oci_image(Tree& tree, const std::string& root, const OciImage& img, const std::string& what) {
    tree.add_directory(root, 0755);
    for (const auto& l : img.layers) {
        verify_blob(img.layout_dir, l, what);
        apply_layer(tree, root, img.blob_path(l.digest), what + ": layer " + l.digest.substr(0, 19));
    }
    tree.add_directory(root, 0755);  // the root itself stays 0755 root-owned
}

}  // namespace berth::builder
