// The bounds on a YAML file before its keys are read, so that no file, however
// written, costs the builder more than a bounded amount of time and memory, and
// how a value from such a file is shown in an error message.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

#include <yaml-cpp/node/node.h>

namespace berth::builder {

// Larger files are refused before they are parsed. LinuxKit files are a few
// kilobytes; `files: contents:` may inline a script or a certificate bundle.
inline constexpr std::size_t kYamlMaxBytes = 64u << 20;

// The most nodes (scalars, lists, maps) a file may have once every alias is
// expanded. Aliases share a node in the parsed tree, but the walk that reads the
// keys visits it once per alias, so "billion laughs" (nested aliases, 9 levels
// of 9) would be hundreds of millions of visits.
inline constexpr std::size_t kYamlMaxExpandedNodes = 1'000'000;

// The file's bytes, at most kYamlMaxBytes; throws Error naming the file for a
// larger one (or an endless one such as /dev/zero) and for a read error.
std::string read_yaml_file(const std::string& path);

// Throws YamlError at the first problem, with its line and column: a NUL byte
// (UTF-16 or a binary file), bytes that are not UTF-8 (LinuxKit's reader refuses
// them too, and config.json must be UTF-8), more than kYamlMaxExpandedNodes
// nodes once aliases are expanded, an alias inside the node its anchor names
// (a cycle), nesting deeper than the parser allows.
// Other syntax errors are left to the parser that follows.
void check_yaml_input(const std::string& text, const std::string& file);

// Applies YAML merge keys (`<<: *defaults`, `<<: [*a, *b]`) in place, as LinuxKit's
// YAML reader does and yaml-cpp does not: a map gets each key of the merged maps
// that it does not give itself, the first merged map winning over later ones.
// The merged values keep their own positions for error messages. Throws
// YamlError when a merge key's value is not a map or a list of maps.
void resolve_merge_keys(YAML::Node node, const std::string& file);

// `v` quoted for a message: control characters escaped (\n, \t, \x1b), and cut
// after 60 characters with the whole length noted, so that a 10 MB scalar does
// not become a 10 MB message or a terminal escape sequence.
std::string shown_value(std::string_view v);

}  // namespace berth::builder
