// /proc/<pid>/mountinfo (proc(5)): the one reader of the kernel's mount table
// for PID 1, the runtime and the shutdown path.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace berth::mountinfo {

// One line: "id parent maj:min root mount-point options [optional...] - type
// source super-options", with the kernel's octal escapes (\040 for a space,
// \011, \012, \134) decoded in the paths and the source.
struct Entry {
    std::string root;         // the path within the file system mounted here
    std::string mount_point;
    std::string options;      // per-mount options ("rw,nosuid")
    std::string fs_type;      // "cgroup2", "tmpfs"...
    std::string source;
    std::string super_options;
};

// The lines that parse, in the kernel's order (later mounts last); a line
// that does not is skipped.
std::vector<Entry> parse(std::string_view text);

// `s` with the kernel's \ooo escapes replaced by the byte they stand for; a
// backslash not followed by three octal digits is kept as it is.
std::string decode_escapes(std::string_view s);

}  // namespace berth::mountinfo
