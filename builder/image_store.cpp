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
const char* kSourceDigest = "berth.source.digest";
const char* kIndexType = "application/vnd.oci.image.index.v1+json";

// The reference an index.json entry is stored under; nullopt for names that are
// not references (a layout written by another tool).
std::optional<config::ImageReference> entry_reference(const Descriptor& d) {
    std::string name = d.annotations.value(kRefName, "");
    if (name.empty()) return std::nullopt;
    try {
        return config::parse_image_reference(name);
    } catch (const Error&) {
        return std::nullopt;
    }
}

bool same_key(const Descriptor& d, const std::string& key) {
    auto r = entry_reference(d);
    return r && store_key(*r) == key;
}

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

std::string normalise_reference(const std::string& ref) { return config::parse_image_reference(ref).str(); }

std::string store_key(const config::ImageReference& ref) {
    std::string key = ref.name();
    key += ref.tag.empty() ? '@' : ':';
    key += ref.tag.empty() ? ref.digest : ref.tag;
    return key;
}

void verify_digest_pin(const config::ImageReference& ref, const StoreEntry& e, const std::string& what) {
    if (ref.digest.empty() || ref.digest == e.descriptor.digest || ref.digest == e.source_digest) return;
    throw Error(what + ": pinned to " + ref.digest + " but the image stored as `" + e.reference + "` has digest " +
                    (e.source_digest.empty() ? e.descriptor.digest : e.source_digest) +
                    " (pull or import the pinned image, or fix the pin)",
                EINVAL);
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
    config::ImageReference parsed = config::parse_image_reference(reference);
    std::string ref = store_key(parsed);
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
    if (!parsed.digest.empty() && parsed.digest != d.digest)
        throw Error(what + ": the reference is pinned to " + parsed.digest + " but the image's digest is " + d.digest, EINVAL);
    ensure_layout();
    StoreEntry out;
    for (const auto& b : blob_closure(layout, d, what)) {
        copy_blob(layout, dir_, b, what);
        if (b.digest != d.digest) out.bytes += b.size;
    }
    d.annotations = json::object();
    d.annotations[kRefName] = ref;
    put_entry(d);
    out.reference = ref;
    out.descriptor = d;
    out.bytes += d.size;
    return out;
}

void ImageStore::put_entry(const Descriptor& d) {
    std::string key = d.annotations.value(kRefName, "");
    std::vector<Descriptor> kept;
    for (const auto& e : layout_entries(dir_))
        if (e.annotations.value(kRefName, "") != key && !same_key(e, key)) kept.push_back(e);
    kept.push_back(d);
    std::sort(kept.begin(), kept.end(), [](const Descriptor& a, const Descriptor& b) {
        return a.annotations.value(kRefName, "") < b.annotations.value(kRefName, "");
    });
    write_index(kept);
}

StoreEntry ImageStore::add_pulled(const std::string& layout, const config::ImageReference& ref,
                                  const std::string& source_digest, const Platform& platform) {
    std::string key = store_key(ref);
    std::string what = "pulled image `" + ref.str() + "`";
    std::vector<Descriptor> entries = layout_entries(layout);
    if (entries.size() != 1)
        throw Error(what + ": expected one image in `" + layout + "`, found " + std::to_string(entries.size()), EINVAL);
    Descriptor image = entries.front();
    image.annotations = json::object();
    ensure_layout();
    for (const auto& b : blob_closure(layout, image, what)) copy_blob(layout, dir_, b, what);

    // The platforms pulled before from the same registry digest stay beside it.
    json manifests = json::array();
    std::optional<StoreEntry> old = find(ref);
    if (old && old->source_digest == source_digest && old->descriptor.media_type == kIndexType &&
        old->descriptor.annotations.value("berth.pulled", "") == "true") {
        json idx = json::parse(read_blob(dir_, old->descriptor, "store `" + dir_ + "`"));
        for (const auto& m : idx.value("manifests", json::array())) {
            json p = m.value("platform", json::object());
            if (p.value("os", "") != platform.os || p.value("architecture", "") != platform.architecture)
                manifests.push_back(m);
        }
    }
    json entry = {{"mediaType", image.media_type.empty() ? "application/vnd.oci.image.manifest.v1+json" : image.media_type},
                  {"digest", image.digest},
                  {"size", image.size},
                  {"platform", {{"os", platform.os}, {"architecture", platform.architecture}}}};
    manifests.push_back(entry);
    json idx = {{"schemaVersion", 2}, {"mediaType", kIndexType}, {"manifests", manifests}};
    std::string blob = idx.dump(2) + "\n";
    Descriptor d;
    d.media_type = kIndexType;
    d.digest = "sha256:" + sha256_hex(blob);
    d.size = blob.size();
    write_atomic(dir_ + "/blobs/sha256/" + d.digest.substr(7), blob);
    d.annotations = json::object();
    d.annotations[kRefName] = key;
    d.annotations[kSourceDigest] = source_digest;
    d.annotations["berth.pulled"] = "true";
    put_entry(d);
    return *find(ref);
}

namespace {

// One entry of the store's index: its reference, where it was pulled from and
// the bytes of every distinct blob it needs.
StoreEntry store_entry(const std::string& dir, const Descriptor& e) {
    StoreEntry s;
    s.reference = e.annotations.value(kRefName, "");
    s.descriptor = e;
    s.source_digest = e.annotations.value(kSourceDigest, "");
    std::set<std::string> seen;
    for (const auto& b : blob_closure(dir, e, "store `" + dir + "`"))
        if (seen.insert(b.digest).second) s.bytes += b.size;
    return s;
}

}  // namespace

std::optional<StoreEntry> ImageStore::find(const config::ImageReference& ref) const {
    if (!is_oci_layout(dir_)) return std::nullopt;
    std::vector<Descriptor> entries = layout_entries(dir_);
    auto entry = [&](const Descriptor& e) { return store_entry(dir_, e); };
    // By tag first: a tagged, pinned reference whose tag holds another digest is
    // a mismatch to report (verify_digest_pin), not a reason to look elsewhere.
    if (!ref.tag.empty())
        for (const auto& e : entries)
            if (auto r = entry_reference(e); r && r->name() == ref.name() && r->tag == ref.tag) return entry(e);
    if (!ref.digest.empty())
        for (const auto& e : entries)
            if (auto r = entry_reference(e); r && r->name() == ref.name() &&
                                             (r->digest == ref.digest || e.digest == ref.digest ||
                                              e.annotations.value(kSourceDigest, "") == ref.digest))
                return entry(e);
    return std::nullopt;
}

std::vector<StoreEntry> ImageStore::list() const {
    std::vector<StoreEntry> out;
    if (!is_oci_layout(dir_)) return out;
    for (const auto& e : layout_entries(dir_)) out.push_back(store_entry(dir_, e));
    return out;
}

bool ImageStore::has(const std::string& reference) const {
    return find(config::parse_image_reference(reference)).has_value();
}

bool ImageStore::remove(const std::string& reference) {
    auto found_entry = find(config::parse_image_reference(reference));
    if (!found_entry) return false;
    std::vector<Descriptor> kept;
    bool found = false;
    for (const auto& e : layout_entries(dir_)) {
        if (e.annotations.value(kRefName, "") == found_entry->reference) found = true;
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
