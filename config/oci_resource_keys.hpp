// The keys of an OCI `linux.resources` object, as a tree: what the OCI model
// (config/oci_spec.cpp) reads, so that an image description can refuse a key
// that would otherwise be ignored. config.json itself must ignore unknown keys
// (runtime-spec); a YAML file written by a person should not.
#pragma once
#include <string>
#include <vector>

namespace berth::oci {

struct ResourceKey {
    enum class Kind { value, object, list_of_objects };
    std::string name;
    Kind kind = Kind::value;
    std::vector<ResourceKey> children;  // object, list_of_objects: the members' keys
    // Read by no runtime on cgroup v2 (deprecated by the spec): accepted, warned about.
    bool ignored = false;
};

// The members of `linux.resources`.
const std::vector<ResourceKey>& resource_keys();

}  // namespace berth::oci
