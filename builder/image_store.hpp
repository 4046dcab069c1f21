// berth's local image store: one OCI image layout whose index.json entries carry
// the reference ("redis:7") in org.opencontainers.image.ref.name. Filled by
// `berth image import`, read by `berth build` for images named NAME[:TAG].
#pragma once
#include <string>
#include <vector>

#include "builder/oci_image.hpp"

namespace berth::builder {

// $BERTH_STORE, else $XDG_DATA_HOME/berth/images, else ~/.local/share/berth/images.
std::string default_store_dir();

// "redis" -> "redis:latest"; refuses names with characters a reference cannot hold.
std::string normalise_reference(const std::string& ref);

// Extracts an OCI layout tarball (oci-archive) into a cache directory keyed by its
// digest and returns that directory; entries escaping the directory are refused.
std::string extract_layout_tarball(const std::string& tar_path, const std::string& cache_dir);

struct StoreEntry {
    std::string reference;  // "redis:7"
    Descriptor descriptor;  // manifest or index
    std::uint64_t bytes = 0;  // all blobs it references
};

class ImageStore {
public:
    explicit ImageStore(std::string dir) : dir_(std::move(dir)) {}
    const std::string& dir() const { return dir_; }

    // Imports from an OCI layout directory or tarball. `source_ref` picks an image of
    // a layout that holds several ("" = the only one). Every blob is verified.
    StoreEntry import(const std::string& source, const std::string& reference, const std::string& source_ref = "");
    std::vector<StoreEntry> list() const;
    // Removes a reference and every blob no other reference uses; false if absent.
    bool remove(const std::string& reference);
    bool has(const std::string& reference) const;

private:
    void ensure_layout() const;
    void write_index(const std::vector<Descriptor>& entries) const;
    std::string dir_;
};

// Every blob digest reachable from `d` in the layout (d itself included).
std::vector<Descriptor> blob_closure(const std::string& layout_dir, const Descriptor& d, const std::string& what);

}  // namespace berth::builder
