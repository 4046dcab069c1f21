// `berth build`: YAML -> NAME-kernel, NAME-initrd.img, NAME-cmdline.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "builder/image_source.hpp"
#include "builder/kernel.hpp"
#include "builder/outputs.hpp"
#include "builder/tree.hpp"
#include "builder/yaml_model.hpp"

namespace berth::builder {

struct BuildOptions {
    std::string yaml_file;                // the first (or only) YAML file: names the outputs
    std::vector<std::string> more_yaml_files;  // merged after it, as `linuxkit build a.yml b.yml`
    std::string out_dir = ".";
    std::string name;                     // default: YAML basename without extension
    std::vector<std::string> image_dirs;  // --images, searched before $BERTH_IMAGES
    std::string init_binary;              // becomes /init
    std::string skel_dir;                 // copied to / first
    std::string kernel_cache_dir;         // default: default_kernel_cache_dir()
    std::string store_dir;                // default: default_store_dir()
    std::string defaults_dir;             // berth's security defaults; default: the runtime's
    std::string arch;                     // target architecture (OCI name); default amd64
    std::vector<std::string> formats;     // --format; default: the YAML's outputs
    std::string compression = "gzip";     // initrd: gzip | zstd
    std::string update_key_file;          // raw-efi-ab: the Ed25519 key that signs the update bundle
    std::string update_binary;            // raw-efi-ab: berth-update; default: next to init_binary
    bool pull = false;                    // --pull: images found nowhere are pulled first
    RegistryOptions registry;             // for --pull
    // --sign-key/--sign-cert: sign the uki output (builder/uki.hpp); both or none.
    std::string signing_key, signing_cert;
};

struct BuildResult {
    std::string kernel_path, initrd_path, cmdline_path;
    std::string kernel_version;
    std::uint64_t initrd_raw_bytes = 0;   // uncompressed cpio
    std::size_t initrd_entries = 0;
    std::vector<std::string> modules;     // load order
    std::vector<std::string> builtin_modules;
    // `modules: auto`: the classes' modules shipped (with their dependencies),
    // loaded by PID 1 when a device matches one of their aliases.
    std::vector<std::string> coldplug_modules;
    struct Part { std::string what; std::uint64_t bytes; std::size_t files; };
    std::vector<OutputFile> files;        // everything written, for the summary
    std::vector<Part> parts;              // for the size summary
    double seconds = 0;
};

// The name used for output files when --name is not given ("web.yml" -> "web").
std::string default_output_name(const std::string& yaml_file);

// dependsOn/waitsFor/after must name services of the image; no service may name
// itself and the relations may not form a cycle (PID 1's own graph check).
void check_dependencies(const ImageSpec& spec);

// A `files:` entry's `source` as a host path: absolute, or relative to the YAML file.
std::string file_source_path(const ImageSpec& spec, const FileSpec& f);
// The `files:` entries whose `source` is not there, each at its place (an
// `optional: true` entry is skipped at build time instead).
std::vector<YamlError> missing_file_sources(const ImageSpec& spec);

// The text for `files:` entries with `metadata: yaml|json`.
std::string image_metadata(const ImageSpec& spec, const std::string& format);

// The contents of /etc/berth/modules for a load plan.
std::string modules_list_text(const std::string& kernel_version,
                              const std::vector<std::pair<std::string, std::string>>& files_and_params,
                              const std::vector<std::string>& builtin);

// What `berth build` checks of its options against the merged files before it
// looks for an image or the kernel, and `build --dry-run` and `validate` check too:
// the output formats (the options', else the YAML's) for the architecture,
// raw-efi-ab's `update:` key and --update-key file, the --sign-key/--sign-cert
// files. Every problem, in the order the build reports them (it stops at the
// first); `in_yaml`: a problem of the files, not of an option. Without
// `key_options` (`validate`, which takes no key options) a raw-efi-ab output
// does not need --update-key. The update key read goes to `update_key`.
struct BuildOptionProblem {
    std::string message;
    bool in_yaml = false;
};
std::vector<BuildOptionProblem> check_build_options(const BuildOptions& opts, const ImageSpec& spec,
                                                    bool key_options, std::string* update_key = nullptr);

BuildResult build_image(const BuildOptions& opts);

std::string human_size(std::uint64_t bytes);
void print_summary(const BuildResult& r);

}  // namespace berth::builder
