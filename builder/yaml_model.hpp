// The image description: a subset of LinuxKit's YAML schema, typed.
//
// The parser is table driven (one key table per section) so that the rest of the
// LinuxKit schema can be added key by key. Keys that LinuxKit defines but berth does
// not implement yet are rejected with "not supported yet" rather than "unknown key".
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "config/image_config.hpp"

namespace berth::builder {

// Where something came from in the YAML file (1-based; 0 when unknown).
struct SourcePos {
    std::string file;
    int line = 0;
    int column = 0;
    std::string str() const;  // "file:line:column"
};

// A YAML error: "web.yml:12:5: services[0].net: expected host or new, got 'bridge'".
// Whether `a` comes before `b` in the order the user reads `files` (the YAML files
// as given, then line and column); a place in no file of the list comes last.
bool before_in_files(const std::vector<std::string>& files, const SourcePos& a, const SourcePos& b);

class YamlError : public Error {
public:
    YamlError(const SourcePos& pos, const std::string& path, const std::string& message);
    SourcePos where;  // for reporting several errors in file order
};

// host: share PID 1's; fresh (YAML "new"): a new one; path: join the namespace
// file named in ContainerSpec::ns_paths (LinuxKit accepts a path such as
// /run/netns/foo for every namespace key).
enum class Namespace { host, fresh, path };

struct Bind {
    std::string source;
    std::string volume;  // the volume named as source (LinuxKit's `binds: [vol:/dest]`), else empty
    std::string destination;
    std::vector<std::string> options;  // as written after the second ':', empty if none
    SourcePos pos;
    std::string key_path;  // "services[0].binds[1]": where it was written
};

// A `volumes:` entry: a directory shared by the containers that bind it.
struct VolumeSpec {
    std::string name;
    std::string image;     // its contents; empty for an empty directory
    bool readonly = false; // binds of it must then be `ro`
    std::string path;      // where it is in the image (absolute)
    SourcePos pos;
    SourcePos image_pos;
    // format: oci: the image as an OCI image layout in the volume (not unpacked),
    // with one manifest per platform ("linux/arm64"); none given: the target's.
    bool oci_layout = false;
    std::vector<std::string> platforms;
};

enum class Stage { onboot, onshutdown, services };
const char* stage_name(Stage s);

// One container entry. The per-image keys come from, in order of precedence, the
// YAML entry, the image's org.mobyproject.config label, LinuxKit's defaults
// (see container_keys.hpp for how they are applied).
struct ContainerSpec {
    Stage stage = Stage::services;
    std::size_t index = 0;  // position within its section
    std::string name;
    std::string image;
    std::vector<std::string> capabilities;  // CAP_* names (upper case) or "all"
    std::optional<std::vector<std::string>> ambient;
    Namespace net = Namespace::host;
    Namespace pid = Namespace::fresh;
    Namespace ipc = Namespace::host;
    Namespace uts = Namespace::host;
    Namespace userns = Namespace::host;
    Namespace cgroupns = Namespace::host;
    std::map<std::string, std::string> ns_paths;  // "network" -> "/run/netns/x" when path
    std::vector<Bind> binds;
    std::vector<nlohmann::json> mounts;   // OCI mount objects, validated
    std::vector<nlohmann::json> devices;  // OCI linux.devices entries (type c|b|p)
    std::vector<std::string> tmpfs;       // "dest[:options]"
    std::optional<std::vector<std::string>> command;
    std::optional<std::vector<std::string>> env;  // KEY=VALUE; replaces the image's Env
    std::optional<std::string> cwd;
    bool readonly = false;  // LinuxKit's default; `berth: {strict: true}` makes it true
    bool strict = false;    // the image's `berth.strict`: berth's stricter defaults
    std::map<std::string, VolumeSpec> volumes;  // the image's volumes, for binds naming one
    // LinuxKit's ids: each container is allocated uid = gid = 100, 101, ... in
    // onboot, onshutdown, services order; a uid/gid name refers to these first.
    std::map<std::string, std::uint32_t> container_ids;
    std::optional<std::string> hostname;
    std::optional<std::string> uid;  // number or a name looked up in the image's /etc/passwd
    std::optional<std::string> gid;  // number or a name looked up in the image's /etc/group
    std::vector<std::string> additional_gids;
    std::optional<bool> no_new_privileges;
    std::optional<int> oom_score_adj;
    std::optional<std::string> apparmor_profile;  // process.apparmorProfile
    std::optional<std::string> rootfs_propagation;
    std::optional<std::string> cgroups_path;
    std::optional<nlohmann::json> resources;  // OCI linux.resources
    std::map<std::string, std::string> sysctl;
    std::vector<std::string> rlimits;  // "nofile,1024,4096"
    std::optional<nlohmann::json> uid_mappings, gid_mappings;
    std::map<std::string, std::string> annotations;
    nlohmann::json runtime = nlohmann::json::object();  // runtime.json keys (LinuxKit's `runtime:`)
    std::optional<std::vector<std::string>> masked_paths, readonly_paths;  // null = berth defaults
    std::string seccomp = "default";  // "default" | "unconfined"
    nlohmann::json policy = nlohmann::json::object();  // berth keys -> runtime.json "berth"

    // The entry's per-image keys as given in the YAML (normalised JSON), applied
    // again over the image label's keys when the image is resolved.
    nlohmann::json yaml_keys = nlohmann::json::object();
    std::map<std::string, SourcePos> key_pos;  // "services[0].binds[1]" -> where
    SourcePos pos;        // of the list entry
    SourcePos image_pos;  // of the image value
};

struct ModuleRequest {
    std::string name;    // as written (before normalisation)
    std::string params;  // "key=value ..." or empty
    SourcePos pos;
};

struct KernelSpec {
    std::string package;  // Debian package name, path to a .deb, or a directory
    // kernel.image: a LinuxKit kernel image (an image whose root holds the kernel,
    // a tar of lib/modules/<version>/ and optionally a microcode cpio). The other
    // three name those files in it, as LinuxKit's keys do.
    std::string image;
    std::string binary = "kernel";
    std::string tar = "kernel.tar";  // "none": the image has no modules
    std::string ucode;               // "": no microcode; else prepended to the initrd
    // The binary/tar/ucode keys as written, in order: a later file overrides
    // each one it gives (LinuxKit merges them one by one, not with the image).
    struct ImageKey {
        std::string name;  // "binary" | "tar" | "ucode"
        std::string path;  // "kernel.ucode"
        SourcePos pos;
    };
    std::vector<ImageKey> image_keys;
    SourcePos image_pos;
    std::string cmdline;
    std::vector<ModuleRequest> modules;  // a `modules:` list: loaded at every boot
    // `modules: auto` (every class), `all`, or `modules: {classes: [...]}`: the
    // modules of these hardware classes are shipped and PID 1 loads those the
    // machine's devices match. nullopt when not written; with no list either,
    // the image behaves as `auto`.
    std::optional<std::vector<std::string>> module_classes;
    bool modules_listed = false;  // a `modules:` list was written
    SourcePos pos;
};

// The hardware classes whose modules an image ships (see module_classes.hpp):
// the written ones, else every class when no `modules:` list was written.
std::vector<std::string> shipped_module_classes(const KernelSpec& k);

// An `init:` entry: an image whose layers are unpacked into the root, in order.
struct InitImage {
    std::string reference;
    SourcePos pos;
};

struct FileSpec {
    std::string path;  // relative, no leading '/', normalised
    std::optional<std::string> contents;
    std::optional<std::string> source;   // host path, relative to the YAML directory
    std::optional<std::string> symlink;  // link target
    bool directory = false;
    bool optional = false;  // a missing `source` is skipped instead of an error
    std::optional<std::uint32_t> mode;
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::optional<std::string> uid_name, gid_name;  // a container's name (its allocated id) or root
    std::optional<std::string> metadata;  // "yaml" | "json": the image description itself
    SourcePos pos;
};

struct DataPartitionSpec {
    std::uint64_t bytes = 0;
    std::string label = "berth-data";  // 1-36 of [A-Za-z0-9._-]
};

// `update: {slotSize: 256M, version: "2", commitWhenReady: [redis], deadline: 2m, tries: 1}`:
// the A/B disk (raw-efi-ab) and its update bundle (docs/updates.md).
struct UpdateSpec {
    std::uint64_t slot_bytes = 0;
    std::string version;
    std::vector<std::string> commit_when_ready;
    config::Millis deadline_ms = config::kUpdateDefaultDeadlineMs;
    int tries = 1;
    SourcePos pos;
};

// A services entry's name where it was written. Entries that validate leaves
// out for their errors keep theirs here, so that a repeated name is still found.
struct EntryName {
    std::string name;
    SourcePos pos;
    std::size_t index = 0;
};

struct ImageSpec {
    std::string file;      // the YAML file as given
    std::string base_dir;  // its directory: relative paths are resolved against it
    KernelSpec kernel;
    std::vector<InitImage> init;
    bool has_kernel = false;  // a `kernel:` key was given (one of several files may omit it)
    std::vector<ContainerSpec> onboot;
    std::vector<ContainerSpec> onshutdown;
    std::vector<ContainerSpec> services;
    std::vector<EntryName> service_names;  // every services entry with a valid name, in order
    std::vector<FileSpec> files;
    std::vector<VolumeSpec> volumes;
    bool strict = false;  // `berth: {strict: true}`: read-only roots, private bind propagation
    bool verity = false;  // `berth: {verity: true}`: kernel+squashfs with a dm-verity hash tree
    std::vector<std::string> outputs;  // output_formats(); default kernel+initrd
    // `berth: {data_partition: {size: 1G, label: NAME}}`: a blank partition after the
    // ESP of disk image outputs, named NAME in the GPT (default berth-data).
    std::optional<DataPartitionSpec> data_partition;
    std::optional<config::WatchdogConfig> watchdog;  // -> /etc/berth/image.json
    std::optional<config::EmergencyConfig> emergency;  // -> /etc/berth/image.json
    std::optional<UpdateSpec> update;                  // -> /etc/berth/image.json (with the key)
    std::string text;                  // the YAML as read (for files: metadata)

    // All containers in build order: onboot, onshutdown, services.
    std::vector<const ContainerSpec*> containers() const;
};

// kernel+initrd, kernel+squashfs, tar, iso-bios and the disk image formats.
const std::vector<std::string>& output_formats();
bool is_output_format(const std::string& f);

// Parse YAML text; `file` names it in messages; `base_dir` anchors relative paths.
// Throws the first error.
ImageSpec parse_image_yaml(const std::string& text, const std::string& file,
                           const std::string& base_dir);
// Read and parse a file.
ImageSpec load_image_yaml(const std::string& path);

// Several files merged as `linuxkit build a.yml b.yml` does: later files append
// their onboot, onshutdown, services, files and volumes; kernel keys they give
// replace the earlier ones (kernel modules are appended); `outputs` and
// `watchdog` are replaced; `berth.strict` set in any file applies. Relative paths
// keep meaning their own file's directory. With `problems`, every error is
// recorded there (in the order found) and the best-effort image is returned;
// without, the first error is thrown.
ImageSpec load_image_yamls(const std::vector<std::string>& paths, std::vector<YamlError>* problems = nullptr);
ImageSpec merge_images(std::vector<ImageSpec> parts);

// After parsing (and merging): default outputs, unique service and volume names,
// each container's volumes and LinuxKit-or-strict `readonly` default, binds naming
// volumes checked. Records into `problems` when given, else throws.
void finish_image(ImageSpec& img, std::vector<YamlError>* problems = nullptr);

// Where a volume is in the image.
std::string volume_path(const VolumeSpec& v);
// A bind naming a volume: the volume exists, and a read-only one is bound `ro`.
// Throws YamlError at the bind.
void check_volume_bind(const ContainerSpec& c, const Bind& b);

}  // namespace berth::builder
