// One container's bundle in the image tree: config.json, runtime.json and its root
// file system (rootfs/, or lower/ plus an overlay for a writable container).
#pragma once
#include <string>

#include "builder/arch.hpp"
#include "builder/image_source.hpp"
#include "builder/oci_config_gen.hpp"
#include "builder/tree.hpp"
#include "builder/yaml_model.hpp"

namespace berth::builder {

// The initrd directory of one container: "containers/onboot/000-dhcpcd".
std::string container_dir(const ContainerSpec& c);

// Checks the berth policy keys of an entry (throws YamlError at the entry).
void check_policy(const ContainerSpec& c);

struct Bundle {
    ContainerSpec spec;  // after merging the image's org.mobyproject.config label
    std::string dir;     // container_dir()
    std::string image_root;  // where the image's files are: dir/rootfs or dir/lower
    std::string config_text, runtime_text;
};

// Unpacks the image into the tree and writes the bundle's files.
Bundle add_bundle(Tree& tree, const ContainerSpec& c, const ResolvedImage& image, const SecurityDefaults& security);

// With a linux.seccomp in the bundle's config.json: the profile compiled for
// `arch` by the same libseccomp code PID 1 runs, as the bundle's seccomp.bpf
// (config/seccomp_program.hpp), so no boot compiles it. Returns whether it did.
bool add_seccomp_program(Tree& tree, const Bundle& b, Arch arch);

// Creates, inside a container's image root, the mount point of every mount in its
// config.json that the image lacks (the root is read-only at run time).
void add_mount_points(Tree& tree, const std::string& image_root, const std::string& config_text);

// Loads seccomp.json and security.json from the runtime's defaults directory;
// a missing or malformed file is an error naming it.
SecurityDefaults load_security_defaults(const std::string& dir);

}  // namespace berth::builder
