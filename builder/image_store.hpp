// berth's local image store: one OCI image layout whose index.json entries carry
// the normalised reference ("docker.io/library/redis:7") in
// org.opencontainers.image.ref.name. Filled by `berth image import` and
// `berth image pull`, read by `berth build`. Entries written by older versions
// under a short name ("redis:7") are found by the same reference.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "builder/oci_image.hpp"
#include "config/image_reference.hpp"

namespace berth::builder {

// $BERTH_STORE, else $XDG_DATA_HOME/berth/images, else ~/.local/share/berth/images.
std::string default_store_dir();

// "redis" -> "docker.io/library/redis:latest"; throws on an invalid reference.
std::string normalise_reference(const std::string& ref);
// The ref name a reference is stored under: NAME:TAG, or NAME@DIGEST without a tag.
std::string store_key(const config::ImageReference& ref);

// Extracts an OCI layout tarball (oci-archive) into a cache directory keyed by its
// digest and returns that directory; entries escaping the directory are refused.
std::string extract_layout_tarball(const std::string& tar_path, const std::string& cache_dir);

struct StoreEntry {
    std::string reference;  // the ref name as stored: "docker.io/library/redis:7"
    Descriptor descriptor;  // manifest or index
    std::uint64_t bytes = 0;  // all blobs it references
    // For a pulled image: the digest of what the registry served for the reference
    // (often an image index, while the store keeps only the platforms pulled).
    std::string source_digest;
    bool up_to_date = false;  // a pull found it already stored
};

// Throws unless the reference carries no digest or `e` has that digest (its own
// or the registry's); the message names both digests.
void verify_digest_pin(const config::ImageReference& ref, const StoreEntry& e, const std::string& what);

class ImageStore {
public:
    explicit ImageStore(std::string dir) : dir_(std::move(dir)) {}
    const std::string& dir() const { return dir_; }

    // Imports from an OCI layout directory or tarball. `source_ref` picks an image of
    // a layout that holds several ("" = the only one). Every blob is verified.
    // A digest in `reference` must match the imported image's.
    StoreEntry import(const std::string& source, const std::string& reference, const std::string& source_ref = "");
    // Stores the single image of `layout` (as written by `skopeo copy`) for
    // `platform` under `ref`. If `ref` already holds images pulled from the same
    // registry digest for other platforms, they are kept beside it in one index,
    // so amd64 and arm64 pulls of one reference coexist.
    StoreEntry add_pulled(const std::string& layout, const config::ImageReference& ref,
                          const std::string& source_digest, const Platform& platform);
    // The entry for a reference: same name and tag; for a digest-only reference,
    // same name and digest. The digest pin is not checked here (verify_digest_pin).
    std::optional<StoreEntry> find(const config::ImageReference& ref) const;
    std::vector<StoreEntry> list() const;
    // Removes a reference and every blob no other reference uses; false if absent.
    bool remove(const std::string& reference);
    bool has(const std::string& reference) const;

private:
    void ensure_layout() const;
    void write_index(const std::vector<Descriptor>& entries) const;
    // Replaces the entries stored under the same reference as `d` with `d`.
    void put_entry(const Descriptor& d);
    std::string dir_;
};

// Every blob digest reachable from `d` in the layout (d itself included).
std::vector<Descriptor> blob_closure(const std::string& layout_dir, const Descriptor& d, const std::string& what);

}  // namespace berth::builder
