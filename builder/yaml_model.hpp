// The image description: a subset of LinuxKit's YAML schema, typed.
//
// The parser is table driven (one key table per section) so that the rest of the
// LinuxKit schema can be added key by key. Keys that LinuxKit defines but berth does
// not implement yet are rejected with "not supported yet" rather than "unknown key".
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace berth::builder {

// Where something came from in the YAML file (1-based; 0 when unknown).
struct SourcePos {
    std::string file;
    int line = 0;
    int column = 0;
    std::string str() const;  // "file:line:column"
};

// A YAML error: "web.yml:12:5: services[0].net: expected host or new, got 'bridge'".
class YamlError : public Error {
public:
    YamlError(const SourcePos& pos, const std::string& path, const std::string& message);
};

enum class Namespace { host, fresh };  // YAML spelling: host | new

struct Bind {
    std::string source;
    std::string destination;
    std::vector<std::string> options;  // as written after the second ':', empty if none
    SourcePos pos;
};

enum class Stage { onboot, onshutdown, services };
const char* stage_name(Stage s);

struct ContainerSpec {
    Stage stage = Stage::services;
    std::size_t index = 0;  // position within its section
    std::string name;
    std::string image;
    std::vector<std::string> capabilities;  // CAP_* names (upper case) or "all"
    Namespace net = Namespace::host;
    Namespace pid = Namespace::fresh;
    Namespace ipc = Namespace::host;
    Namespace uts = Namespace::host;
    std::vector<Bind> binds;
    std::optional<std::vector<std::string>> command;
    std::vector<std::string> env;  // KEY=VALUE
    std::optional<std::string> cwd;
    bool readonly = true;
    std::optional<std::string> hostname;
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
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
    std::string cmdline;
    std::vector<ModuleRequest> modules;
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
    SourcePos pos;
};

struct ImageSpec {
    std::string file;      // the YAML file as given
    std::string base_dir;  // its directory: relative paths are resolved against it
    KernelSpec kernel;
    std::vector<ContainerSpec> onboot;
    std::vector<ContainerSpec> onshutdown;
    std::vector<ContainerSpec> services;
    std::vector<FileSpec> files;
    std::vector<std::string> outputs;  // only "kernel+initrd" for now

    // All containers in build order: onboot, onshutdown, services.
    std::vector<const ContainerSpec*> containers() const;
};

// Parse YAML text; `file` names it in messages; `base_dir` anchors relative paths.
ImageSpec parse_image_yaml(const std::string& text, const std::string& file,
                           const std::string& base_dir);
// Read and parse a file.
ImageSpec load_image_yaml(const std::string& path);

}  // namespace berth::builder
