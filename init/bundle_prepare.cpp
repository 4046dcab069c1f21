#include "init/bundle_prepare.hpp"

#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "config/json_document.hpp"
#include "runtime/mount_options.hpp"

namespace berth::init {

using nlohmann::json;

namespace {

std::string absolute(const std::string& bundle_dir, const std::string& p) {
    return !p.empty() && p[0] == '/' ? p : fs::join(fs::join(bundle_dir, "rootfs"), p);
}

void mkdir_all(const std::string& path, const std::string& what) {
    try {
        fs::mkdir_p(path, 0755);
    } catch (const Error& e) {
        throw Error(what + ": " + e.what(), e.code());
    }
}

// Returns the destination when a new mount was made there (for the rollback).
std::string apply_mount(const config::RuntimeMount& m, const std::string& bundle_dir, const std::string& where) {
    std::string dest = absolute(bundle_dir, m.destination);
    const std::string& type = m.type;
    std::string source = m.source.empty() ? type : m.source;
    const std::vector<std::string>& options = m.options;
    mkdir_all(dest, where + ": create the mount point `" + dest + "`");
    // An overlay's upper and work directories are created by whoever mounts it.
    for (const auto& o : options) {
        std::size_t eq = o.find('=');
        if (eq == std::string::npos) continue;
        std::string key = o.substr(0, eq);
        if (key == "upperdir" || key == "workdir")
            mkdir_all(absolute(bundle_dir, o.substr(eq + 1)), where + ": create the overlay " + key);
    }
    runtime::MountOptions mo = runtime::parse_mount_options(options);
    // Overlay directories: relative ones are relative to rootfs/, like the rest.
    std::string data;
    for (std::size_t i = 0; i <= mo.data.size();) {
        std::size_t j = mo.data.find(',', i);
        if (j == std::string::npos) j = mo.data.size();
        std::string o = mo.data.substr(i, j - i);
        std::size_t eq = o.find('=');
        std::string key = eq == std::string::npos ? "" : o.substr(0, eq);
        if (type == "overlay" && (key == "lowerdir" || key == "upperdir" || key == "workdir"))
            o = key + "=" + absolute(bundle_dir, o.substr(eq + 1));
        if (!o.empty()) data += (data.empty() ? "" : ",") + o;
        i = j + 1;
    }
    unsigned long flags = mo.flags & ~MS_REMOUNT;
    // {destination, options: [remount, private]}: LinuxKit's way to change the
    // propagation of a mount made just before.
    bool propagation_only = type.empty() && mo.propagation != 0;
    if (!propagation_only) {
        if (type.empty() && !(flags & MS_BIND)) throw Error(where + ": a mount needs a type", EINVAL);
        if (::mount(source.c_str(), dest.c_str(), type.empty() ? nullptr : type.c_str(), flags,
                    data.empty() ? nullptr : data.c_str()) < 0)
            throw_errno(where + ": mount " + (type.empty() ? "bind" : type) + " `" + source + "` on `" + dest + "`");
    }
    if (mo.propagation != 0 && ::mount(nullptr, dest.c_str(), nullptr, mo.propagation, nullptr) < 0)
        throw_errno(where + ": change the propagation of `" + dest + "`");
    return propagation_only ? std::string() : dest;
}

}  // namespace

void apply_runtime_config(const config::RuntimeConfig& rt, const std::string& bundle_dir) {
    const std::string file = fs::join(bundle_dir, "runtime.json");
    // Mounts first, so that mkdir can make a directory under one. All or
    // nothing: a failure undoes this call's mounts, so that the next attempt
    // (a restart) does not stack a second tmpfs on the first.
    std::vector<std::string> made;
    try {
        for (std::size_t i = 0; i < rt.mounts.size(); ++i) {
            std::string dest = apply_mount(rt.mounts[i], bundle_dir, file + ": mounts[" + std::to_string(i) + "]");
            if (!dest.empty()) made.push_back(dest);
        }
    } catch (...) {
        for (auto d = made.rbegin(); d != made.rend(); ++d)
            if (::umount2(d->c_str(), MNT_DETACH) < 0)
                log::warn("{}: undo the mount on `{}`: {}", file, *d, std::strerror(errno));
        throw;
    }
    for (const auto& d : rt.mkdir) mkdir_all(absolute(bundle_dir, d), file + ": mkdir `" + d + "`");
    for (const auto& c : rt.cgroups) mkdir_all(fs::join("/sys/fs/cgroup", c), file + ": cgroups `" + c + "`");
}

config::RuntimeConfig read_runtime_config(const std::string& bundle_dir) {
    const std::string file = fs::join(bundle_dir, "runtime.json");
    std::optional<json> rt = config::read_json_document(file);
    if (!rt) return {};
    return config::parse_runtime_config(*rt, file);
}

void prepare_bundle_once(const std::string& bundle_dir, const std::string& marker_dir) {
    static std::set<std::string> prepared;
    if (prepared.count(bundle_dir)) return;
    std::string marker;
    if (!marker_dir.empty()) {
        std::string name = bundle_dir;
        for (char& ch : name)
            if (ch == '/') ch = '_';
        marker = fs::join(marker_dir, name);
        if (fs::exists(marker)) return;
    }
    apply_runtime_config(read_runtime_config(bundle_dir), bundle_dir);
    prepared.insert(bundle_dir);
    if (!marker.empty()) {
        fs::mkdir_p(marker_dir, 0700);
        fs::write_file(marker, "");
    }
}

}  // namespace berth::init
