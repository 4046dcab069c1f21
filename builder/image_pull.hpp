// `berth image pull` and `berth image push`: images moved between an OCI
// distribution registry and the store by skopeo (see docs/libraries.md).
//
// A pull asks the registry for the reference's manifest (`skopeo inspect --raw`),
// checks a digest pin against it, then copies exactly that digest for the target
// platform (`skopeo copy --override-arch/--override-os`, which picks the platform's
// entry of a manifest list and verifies every blob) into a temporary OCI layout,
// and stores it under the normalised reference with the registry's digest.
#pragma once
#include <string>
#include <vector>

#include "builder/image_store.hpp"
#include "config/image_reference.hpp"

namespace berth::builder {

struct RegistryOptions {
    // Registries (HOST[:PORT]) reached without TLS verification, falling back to
    // plain HTTP. localhost and loopback addresses are always treated so (as docker does).
    std::vector<std::string> insecure_registries;
    // skopeo's authentication file; "" = skopeo's default ($REGISTRY_AUTH_FILE,
    // then ${XDG_RUNTIME_DIR}/containers/auth.json, as `skopeo login` writes it).
    std::string authfile;
};

bool registry_is_insecure(const config::ImageReference& ref, const RegistryOptions& opts);

// Pulls `ref` for `platform` into `store`; returns the stored entry.
StoreEntry pull_image(const config::ImageReference& ref, const RegistryOptions& opts, ImageStore& store,
                      const Platform& platform);

// Pushes the stored image `ref` to its registry; returns the digest the registry has.
std::string push_image(const config::ImageReference& ref, const RegistryOptions& opts, ImageStore& store);

// `berth image pull|push [options] REF...`; returns the exit status (2 = usage).
int image_transfer_command(const std::string& sub, const std::vector<std::string>& args);

}  // namespace berth::builder
