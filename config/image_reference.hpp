// Image references as LinuxKit and docker write them:
//   [registry[:port]/]path-component[/path-component...][:tag][@sha256:<64 hex>]
// normalised the way docker does it: no registry means docker.io, and a single
// path component on docker.io gets "library/" ("redis:7" is
// "docker.io/library/redis:7"). A reference without tag or digest means ":latest".
#pragma once
#include <string>
#include <string_view>

namespace berth::config {

struct ImageReference {
    std::string registry;    // "docker.io", "localhost:5000", "ghcr.io"
    std::string repository;  // "library/redis", "linuxkit/getty"
    std::string tag;         // "7"; "" only when a digest is given without a tag
    std::string digest;      // "sha256:<64 hex>" or ""

    // "docker.io/library/redis"
    std::string name() const;
    // "docker.io/library/redis:7", "…:7@sha256:…", "…@sha256:…": the canonical form.
    std::string str() const;
    // The name without the tag and digest the way people write it: "redis",
    // "linuxkit/getty", "localhost:5000/x".
    std::string familiar_name() const;
    // What a registry is asked for: name@digest when pinned, else name:tag.
    std::string remote() const;
    // True for registries docker talks to over plain HTTP without being told:
    // localhost and loopback addresses, with or without a port.
    bool loopback_registry() const;
    bool operator==(const ImageReference&) const = default;
};

// Parses and normalises; throws berth::Error (EINVAL) naming the reference and
// what is wrong with it.
ImageReference parse_image_reference(std::string_view text);

// True when an `image:` value is a path: it starts with "./", "../" or "/".
// Anything else is a reference, even if it contains '/'.
bool is_image_path(std::string_view value);

}  // namespace berth::config
