// Parser for linux.devices: the device nodes created in the container's /dev.
// Not to be confused with linux.resources.devices (the cgroup allow list).
#include <sys/stat.h>

#include <fmt/format.h>

#include "config/json_reader.hpp"
#include "config/oci_spec.hpp"

namespace berth::oci::detail {
namespace {

// A path inside /dev with no "." or ".." component: the runtime still resolves
// symlinks inside the root and refuses one that leaves /dev.
bool lexically_under_dev(const std::string& p) {
    if (p.rfind("/dev/", 0) != 0 || p.size() == 5) return false;
    size_t i = 5;
    while (i <= p.size()) {
        size_t j = p.find('/', i);
        if (j == std::string::npos) j = p.size();
        std::string_view part(p.data() + i, j - i);
        if (part == "." || part == "..") return false;
        i = j + 1;
    }
    return p.back() != '/';
}

}  // namespace

bool parse(Reader& r, const json& v, const std::string& path, Device& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    std::string type;
    if (field(r, v, path, "type", type, true)) {
        if (type == "c" || type == "b" || type == "u" || type == "p")
            out.type = type[0];
        else
            r.problem(member_path(path, "type"), fmt::format("unknown device type \"{}\" (expected c, b, u or p)", type));
    }
    if (field(r, v, path, "path", out.path, true) && !lexically_under_dev(out.path))
        r.problem(member_path(path, "path"),
                  fmt::format("must be a path below /dev without . or .. components, got \"{}\"", out.path));
    // A FIFO has no device number.
    const bool numbered = out.type != 'p';
    if (field(r, v, path, "major", out.major, numbered && out.type != 0) && (out.major < 0 || out.major > 0xfff))
        r.problem(member_path(path, "major"), fmt::format("must be between 0 and 4095, got {}", out.major));
    if (field(r, v, path, "minor", out.minor, numbered && out.type != 0) && (out.minor < 0 || out.minor > 0xfffff))
        r.problem(member_path(path, "minor"), fmt::format("must be between 0 and 1048575, got {}", out.minor));
    if (field(r, v, path, "fileMode", out.file_mode) && *out.file_mode > 07777) {
        // podman writes the whole st_mode (020600 for a character device), as
        // runc and crun take it: the file type, when it is the device's, is dropped.
        const std::uint32_t kind = *out.file_mode & ~std::uint32_t(07777);
        const std::uint32_t want = out.type == 'b' ? S_IFBLK : out.type == 'p' ? S_IFIFO : S_IFCHR;
        if (kind == want) out.file_mode = *out.file_mode & 07777;
        else
            r.problem(member_path(path, "fileMode"),
                      fmt::format("must be permission bits (at most 07777), or those with the device's file type, got {:o}",
                                  *out.file_mode));
    }
    field(r, v, path, "uid", out.uid);
    field(r, v, path, "gid", out.gid);
    return true;
}

}  // namespace berth::oci::detail
