#include "builder/image_store.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <ftw.h>
#include <pwd.h>
#include <stdio.h>
#include <unistd.h>

#include <cstdlib>
#include <algorithm>
#include <memory>
#include <set>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::builder {

using nlohmann::json;

namespace {

const char* kRefName = "org.opencontainers.image.ref.name";

json descriptor_json(const Descriptor& d) {
    json j = {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
    json ann = d.annotations;
    json platform = ann.contains("berth.platform") ? ann["berth.platform"] : json();
    ann.erase("berth.platform");
    if (!ann.empty()) j["annotations"] = ann;
    if (!platform.is_null()) j["platform"] = platform;
    return j;
}

void write_atomic(const std::string& path, const std::string& data) {
    std::string tmp = path + ".tmp";
    fs::write_file(tmp, data, 0644);
    if (::rename(tmp.c_str(), path.c_str()) < 0) throw_errno("rename `" + tmp + "` to `" + path + "`");
}

void copy_blob(const std::string& from_dir, const std::string& to_dir, const Descriptor& d, const std::string& what) {
    std::string to = to_dir + "/blobs/sha256/" + d.digest.substr(7);
    if (fs::exists(to) && sha256_file(to) == d.digest) return;
    verify_blob(from_dir, d, what);
    write_atomic(to, fs::read_file(from_dir + "/blobs/sha256/" + d.digest.substr(7)));
}

int rm_entry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }

void rm_rf(const std::string& dir) { ::nftw(dir.c_str(), rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

}  // namespace

std::string default_store_dir() {
    if (const char* s = std::getenv("BERTH_STORE"); s && *s) return s;
    if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return std::string(x) + "/berth/images";
    std::string home;
    if (const char* h = std::getenv("HOME"); h && *h) home = h;
    else if (passwd* pw = ::getpwuid(::getuid())) home = pw->pw_dir;
    return home + "/.local/share/berth/images";
}

std::string normalise_reference(const std::string& ref) {
    if (ref.empty()) throw Error("empty image reference", EINVAL);
    for (char c : ref)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '/' || c == ':'))
            throw Error("image reference `" + ref + "` may only contain letters, digits and . _ - / :", EINVAL);
    std::size_t slash = ref.rfind('/'), colon = ref.rfind(':');
    if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) return ref + ":latest";
    if (colon + 1 == ref.size() || colon == 0) throw Error("image reference `" + ref + "` has an empty name or tag", EINVAL);
    return ref;
}

std::string extract_layout_tarball(const std::string& tar_path, const std::string& cache_dir) {
    std::string digest = sha256_file(tar_path);
    std::string dir = cache_dir + "/" + digest.substr(7, 32);
    if (is_oci_layout(dir)) return dir;
    std::string tmp = dir + ".tmp" + std::to_string(::getpid());
    fs::mkdir_p(tmp);
    struct R { void operator()(archive* a) const { archive_read_free(a); } };
    struct W { void operator()(archive* a) const { archive_write_free(a); } };
    std::unique_ptr<archive, R> in(archive_read_new());
    std::unique_ptr<archive, W> out(archive_write_disk_new());
    archive_read_support_filter_all(in.get());
    archive_read_support_format_tar(in.get());
    // Names are checked here (relative, no ".."); only files and directories are written.
    archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS);
    if (archive_read_open_filename(in.get(), tar_path.c_str(), 1 << 16) != ARCHIVE_OK)
        throw Error("`" + tar_path + "`: " + archive_error_string(in.get()), EINVAL);
    archive_entry* ae;
    int r;
    while ((r = archive_read_next_header(in.get(), &ae)) == ARCHIVE_OK) {
        std::string name = archive_entry_pathname(ae);
        if (archive_entry_filetype(ae) != AE_IFREG && archive_entry_filetype(ae) != AE_IFDIR) continue;
        if (name.empty() || name[0] == '/' || name == ".." || name.rfind("../", 0) == 0 ||
            name.find("/../") != std::string::npos || (name.size() >= 3 && name.compare(name.size() - 3, 3, "/..") == 0))
            throw Error("`" + tar_path + "`: entry `" + name + "` escapes the layout directory", EPERM);
        archive_entry_set_pathname(ae, (tmp + "/" + name).c_str());
        archive_entry_set_perm(ae, archive_entry_filetype(ae) == AE_IFDIR ? 0755 : 0644);
        if (archive_write_header(out.get(), ae) != ARCHIVE_OK)
            throw Error("`" + tar_path + "`: entry `" + name + "`: " + archive_error_string(out.get()), EPERM);
        const void* buf;
        size_t size;
        la_int64_t off;
        while ((r = archive_read_data_block(in.get(), &buf, &size, &off)) == ARCHIVE_OK)
            if (archive_write_data_block(out.get(), buf, size, off) != ARCHIVE_OK)
                throw Error("`" + tar_path + "`: writing `" + name + "`: " + archive_error_string(out.get()), EIO);
        if (r != ARCHIVE_EOF) throw Error("`" + tar_path + "`: " + archive_error_string(in.get()) + " (truncated?)", EIO);
    }
    if (r != ARCHIVE_EOF) throw Error("`" + tar_path + "`: " + archive_error_string(in.get()) + " (truncated?)", EIO);
    archive_write_close(out.get());
    if (!is_oci_layout(tmp)) {
        rm_rf(tmp);
        throw Error("`" + tar_path + "` is not an OCI layout tarball (no oci-layout and index.json at its top)", EINVAL);
    }
    if (::rename(tmp.c_str(), dir.c_str()) < 0) {
        rm_rf(tmp);
        if (!is_oci_layout(dir)) throw_errno("rename `" + tmp + "`");
    }
    return dir;
}

std::vector<Descriptor> blob_closure(const std::string& dir, const Descriptor& d, const std::string& what) {
    std::vector<Descriptor> out{d};
    std::string text = read_blob(dir, d, what);
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception&) {
        throw Error(what + ": " + d.digest + " is not JSON", EINVAL);
    }
    if (j.contains("manifests"))
        for (std::size_t i = 0; i < j["manifests"].size(); ++i) {
            auto sub = blob_closure(dir, parse_descriptor(j["manifests"][i], what + ": manifests[" + std::to_string(i) + "]"), what);
            out.insert(out.end(), sub.begin(), sub.end());
        }
    if (j.contains("config")) out.push_back(parse_descriptor(j["config"], what + ": config"));
    if (j.contains("layers"))
        for (std::size_t i = 0; i < j["layers"].size(); ++i)
            out.push_back(parse_descriptor(j["layers"][i], what + ": layers[" + std::to_string(i) + "]"));
    return out;
}

void ImageStore::ensure_layout() const {
    fs::mkdir_p(dir_ + "/blobs/sha256");
    if (!fs::exists(dir_ + "/oci-layout")) write_atomic(dir_ + "/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}\n");
    if (!fs::exists(dir_ + "/index.json")) write_index({});
}

void ImageStore::write_index(const std::vector<Descriptor>& entries) const {
    json idx = {{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.index.v1+json"}, {"manifests", json::array()}};
    for (const auto& e : entries) idx["manifests"].push_back(descriptor_json(e));
    write_atomic(dir_ + "/index.json", idx.dump(2) + "\n");
}

StoreEntry ImageStore::import(const std::string& source, const std::string& reference, const std::string& source_ref) {
    std::string ref = normalise_reference(reference);
    std::string what = "import `" + source + "`";
    std::string layout = source;
    if (!fs::is_dir(source)) {
        if (!fs::exists(source)) throw Error(what + ": no such file or directory", ENOENT);
        ensure_layout();
        layout = extract_layout_tarball(source, dir_ + "/tmp");
    }
    std::vector<Descriptor> entries = layout_entries(layout);
    std::vector<Descriptor> pick;
    for (const auto& e : entries) {
        std::string r = e.annotations.value(kRefName, "");
        if (source_ref.empty() || r == source_ref) pick.push_back(e);
    }
    if (pick.size() != 1) {
        std::string refs;
        for (const auto& e : entries) refs += " " + e.annotations.value(kRefName, e.digest);
        throw Error(what + ": " + (pick.empty() ? "no image `" + source_ref + "`" : "holds several images; pick one with --ref") +
                        " (it has:" + refs + ")",
                    EINVAL);
    }
    Descriptor d = pick.front();
    ensure_layout();
    StoreEntry out;
    for (const auto& b : blob_closure(layout, d, what)) {
        copy_blob(layout, dir_, b, what);
        if (b.digest != d.digest) out.bytes += b.size;
    }
    d.annotations = json::object();
    d.annotations[kRefName] = ref;
    std::vector<Descriptor> kept;
    for (const auto& e : layout_entries(dir_))
        if (e.annotations.value(kRefName, "") != ref) kept.push_back(e);
    kept.push_back(d);
    std::sort(kept.begin(), kept.end(), [](const Descriptor& a, const Descriptor& b) {
        return a.annotations.value(kRefName, "") < b.annotations.value(kRefName, "");
    });
    write_index(kept);
    out.reference = ref;
    out.descriptor = d;
    out.bytes += d.size;
    return out;
}

std::vector<StoreEntry> ImageStore::list() const {
    std::vector<StoreEntry> out;
    if (!is_oci_layout(dir_)) return out;
    for (const auto& e : layout_entries(dir_)) {
        StoreEntry s;
        s.reference = e.annotations.value(kRefName, "");
        s.descriptor = e;
        std::set<std::string> seen;
        for (const auto& b : blob_closure(dir_, e, "store `" + dir_ + "`"))
            if (seen.insert(b.digest).second) s.bytes += b.size;
        out.push_back(s);
    }
    return out;
}

bool ImageStore::has(const std::string& reference) const {
    if (!is_oci_layout(dir_)) return false;
    std::string ref = normalise_reference(reference);
    for (const auto& e : layout_entries(dir_))
        if (e.annotations.value(kRefName, "") == ref) return true;
    return false;
}

bool ImageStore::remove(const std::string& reference) {
    std::string ref = normalise_reference(reference);
    if (!is_oci_layout(dir_)) return false;
    std::vector<Descriptor> kept;
    bool found = false;
    for (const auto& e : layout_entries(dir_)) {
        if (e.annotations.value(kRefName, "") == ref) found = true;
        else kept.push_back(e);
    }
    if (!found) return false;
    write_index(kept);
    std::set<std::string> live;
    for (const auto& e : kept)
        for (const auto& b : blob_closure(dir_, e, "store `" + dir_ + "`")) live.insert(b.digest.substr(7));
    for (const auto& name : fs::list_dir(dir_ + "/blobs/sha256"))
        if (!live.count(name)) ::unlink((dir_ + "/blobs/sha256/" + name).c_str());
    return true;
}

}  // namespace berth::builder
