#include "oci_fixture.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <stdexcept>

#include "builder/oci_image.hpp"
#include "common/fs.hpp"

namespace berth::test {

using nlohmann::json;

namespace {
la_ssize_t append(struct archive*, void* out, const void* buf, size_t n) {
    static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
    return la_ssize_t(n);
}
}  // namespace

std::string make_layer(const std::vector<LayerEntry>& entries, const std::string& compression) {
    std::string out;
    struct archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (compression == "gzip") archive_write_add_filter_gzip(a);
    if (compression == "zstd") archive_write_add_filter_zstd(a);
    archive_write_set_bytes_per_block(a, 0);
    archive_write_open(a, &out, nullptr, append, nullptr);
    for (const auto& e : entries) {
        struct archive_entry* ae = archive_entry_new();
        archive_entry_set_pathname(ae, e.path.c_str());
        archive_entry_set_perm(ae, e.mode);
        archive_entry_set_uid(ae, e.uid);
        archive_entry_set_gid(ae, e.gid);
        for (const auto& [k, v] : e.xattrs) archive_entry_xattr_add_entry(ae, k.c_str(), v.data(), v.size());
        switch (e.type) {
            case LayerEntry::file:
                archive_entry_set_filetype(ae, AE_IFREG);
                archive_entry_set_size(ae, la_int64_t(e.data.size()));
                break;
            case LayerEntry::dir: archive_entry_set_filetype(ae, AE_IFDIR); break;
            case LayerEntry::symlink:
                archive_entry_set_filetype(ae, AE_IFLNK);
                archive_entry_set_symlink(ae, e.data.c_str());
                break;
            case LayerEntry::hardlink:
                archive_entry_set_filetype(ae, AE_IFREG);
                archive_entry_set_hardlink(ae, e.data.c_str());
                break;
        }
        archive_write_header(a, ae);
        if (e.type == LayerEntry::file && !e.data.empty()) archive_write_data(a, e.data.data(), e.data.size());
        archive_entry_free(ae);
    }
    archive_write_close(a);
    archive_write_free(a);
    return out;
}

LayoutBuilder::LayoutBuilder(std::string dir) : dir_(std::move(dir)) { fs::mkdir_p(dir_ + "/blobs/sha256"); }

json LayoutBuilder::blob(const std::string& data, const std::string& media_type) {
    std::string hex = builder::sha256_hex(data);
    fs::write_file(dir_ + "/blobs/sha256/" + hex, data, 0644);
    return {{"mediaType", media_type}, {"digest", "sha256:" + hex}, {"size", data.size()}};
}

std::string LayoutBuilder::blob_path(const json& d) const {
    return dir_ + "/blobs/sha256/" + d["digest"].get<std::string>().substr(7);
}

json LayoutBuilder::image(const json& config, const std::vector<std::pair<std::string, std::string>>& layers,
                          const std::string& architecture) {
    json cfg = config;
    cfg["architecture"] = architecture;
    cfg["os"] = "linux";
    json m = {{"schemaVersion", 2},
              {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
              {"config", blob(cfg.dump(), "application/vnd.oci.image.config.v1+json")},
              {"layers", json::array()}};
    for (const auto& [data, type] : layers) m["layers"].push_back(blob(data, type));
    return blob(m.dump(), "application/vnd.oci.image.manifest.v1+json");
}

void LayoutBuilder::index(const std::vector<std::pair<json, std::string>>& entries) {
    json idx = {{"schemaVersion", 2}, {"manifests", json::array()}};
    for (const auto& [d, ref] : entries) {
        json e = d;
        if (!ref.empty()) e["annotations"] = {{"org.opencontainers.image.ref.name", ref}};
        idx["manifests"].push_back(e);
    }
    fs::write_file(dir_ + "/index.json", idx.dump(), 0644);
    fs::write_file(dir_ + "/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 0644);
}

}  // namespace berth::test
