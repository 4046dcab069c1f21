#include "builder/bundle.hpp"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "builder/container_keys.hpp"
#include "builder/oci_config_gen.hpp"
#include "config/service_policy.hpp"
#include "config/oci_defaults.hpp"
#include "config/seccomp_program.hpp"
#include "runtime/seccomp_shipped.hpp"
#include "common/error.hpp"

namespace berth::builder {

using nlohmann::json;

namespace {

std::string three_digits(std::size_t i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%03zu", i);
    return buf;
}

std::string strip_slash(const std::string& p) {
    std::size_t i = p.find_first_not_of('/');
    return i == std::string::npos ? "" : p.substr(i);
}

}  // namespace

std::string container_dir(const ContainerSpec& c) {
    switch (c.stage) {
        case Stage::onboot: return "containers/onboot/" + three_digits(c.index) + "-" + c.name;
        case Stage::onshutdown: return "containers/onshutdown/" + three_digits(c.index) + "-" + c.name;
        case Stage::services: return "containers/services/" + c.name;
    }
    return {};
}

void check_policy(const ContainerSpec& c) {
    if (c.policy.empty()) return;
    KeyFail fail = yaml_key_fail(c);
    std::string entry = std::string(stage_name(c.stage)) + "[" + std::to_string(c.index) + "]";
    // Keys that only make sense for one kind of container.
    for (const auto& [k, v] : c.policy.items()) {
        bool service_only = k == "restart" || k == "restartDelay" || k == "restartDelayMax" ||
                            k == "restartResetAfter" || k == "giveUp" || k == "dependsOn" || k == "waitsFor" ||
                            k == "after" || k == "readiness" || k == "watchdog";
        bool onboot_only = k == "onFailure";
        if (service_only && c.stage != Stage::services)
            fail(entry + "." + k, "'" + k + "' applies to services only");
        if (onboot_only && c.stage != Stage::onboot) fail(entry + "." + k, "'" + k + "' applies to onboot containers only");
    }
    // The values: the parser PID 1 uses on runtime.json, so the build accepts
    // exactly what the booted system accepts; the first problem at its key
    // (`berth validate` lists them all, with runtime_config_errors).
    (void)runtime_config(c);
}

namespace {

// Whether a bind source in the image is a file, following symbolic links in the
// image: LinuxKit's /etc/resolv.conf is a link to /run/resolvconf/resolv.conf.
// A link whose target is not in the image (made at run time, as under /run) is
// taken as a file: links to directories are rare as bind sources, links to
// files (resolv.conf, localtime) common. Bounded, as the kernel's 40 links.
bool bind_source_is_file(const Tree& tree, std::string path) {
    bool via_link = false;
    for (int hops = 0; hops < 40; ++hops) {
        const TreeEntry* e = tree.find(path);
        if (!e) return via_link;
        if (e->kind != TreeEntry::Kind::symlink)
            return e->kind == TreeEntry::Kind::host_file || e->kind == TreeEntry::Kind::bytes_file;
        via_link = true;
        const std::string& target = e->data;
        std::size_t slash = path.rfind('/');
        path = strip_slash(!target.empty() && target[0] == '/' ? target
                                                               : (slash == std::string::npos ? "" : path.substr(0, slash + 1)) + target);
    }
    return false;
}

}  // namespace

void add_mount_points(Tree& tree, const std::string& rootfs, const std::string& config_text) {
    json config = json::parse(config_text);
    for (const auto& m : config.value("mounts", json::array())) {
        std::string dest = strip_slash(m.value("destination", ""));
        if (dest.empty()) continue;
        std::string path = rootfs + "/" + dest;
        if (tree.contains(path)) continue;
        bool under_symlink = false;
        for (size_t at = path.find('/', rootfs.size() + 1); at != std::string::npos; at = path.find('/', at + 1)) {
            const TreeEntry* e = tree.find(path.substr(0, at));
            if (e && e->kind == TreeEntry::Kind::symlink) under_symlink = true;
        }
        if (under_symlink) continue;  // left to the runtime
        bool file = m.value("type", "") == "bind" && bind_source_is_file(tree, strip_slash(m.value("source", "")));
        if (file) tree.add_bytes(path, "", 0644);
        else tree.add_directory(path, 0755);
    }
}

namespace {

// PID 1 binds the service's NOTIFY_SOCKET directory (/run/berth/notify/NAME) at
// the same path inside the container; a read-only root needs the mount point.
void add_notify_mount_point(Tree& tree, const Bundle& b) {
    if (b.spec.stage != Stage::services || b.spec.policy.empty()) return;
    auto readiness = config::parse_service_policy(b.spec.policy, b.spec.name).readiness;
    if (readiness != config::Readiness::systemd) return;
    std::string dir = b.image_root;
    for (const char* part : {"/run", "/berth", "/notify"}) {
        dir += part;
        const TreeEntry* e = tree.find(dir);
        if (e && e->kind != TreeEntry::Kind::directory) return;  // a symlink: left to the runtime
    }
    tree.add_directory(dir + "/" + b.spec.name, 0755);
}

}  // namespace

Bundle add_bundle(Tree& tree, const ContainerSpec& c, const ResolvedImage& image, const SecurityDefaults& security) {
    Bundle b;
    b.dir = container_dir(c);
    b.spec = c;
    if (image.kind == ResolvedImage::Kind::oci) {
        json label = mobyproject_label(image.oci, image.what);
        if (!label.is_null()) b.spec = merge_label(c, label, image.what + ": label org.mobyproject.config");
    }
    check_policy(b.spec);
    b.image_root = b.dir + (b.spec.readonly ? "/rootfs" : "/lower");
    tree.add_directory(b.dir, 0755);
    add_image_rootfs(tree, b.image_root, image);
    if (!b.spec.readonly) {
        // LinuxKit's layout: the overlay of lower/ is mounted on rootfs/ with its
        // upper and work directories on a tmpfs at tmp/.
        tree.add_directory(b.dir + "/rootfs", 0755);
        tree.add_directory(b.dir + "/tmp", 0755);
    }
    ImageDefaults defaults = image_defaults_for(image, tree, b.image_root);
    b.config_text = oci_config_text(b.spec, defaults, security);
    json rt = generate_runtime_json(b.spec);
    b.runtime_text = rt.dump(2) + "\n";
    tree.add_bytes(b.dir + "/config.json", b.config_text, 0644);
    tree.add_bytes(b.dir + "/runtime.json", b.runtime_text, 0644);
    add_notify_mount_point(tree, b);
    return b;
}

bool add_seccomp_program(Tree& tree, const Bundle& b, Arch arch) {
    // The profile as PID 1 reads it: parsed from the very config.json text.
    oci::Spec spec = oci::parse_spec(json::parse(b.config_text), b.dir + "/config.json");
    if (!spec.linux_.seccomp) return false;
    const std::string target = arch == Arch::arm64 ? "aarch64" : "x86_64";
    try {
        tree.add_bytes(b.dir + "/" + oci::kSeccompProgramFile, runtime::precompile_seccomp(*spec.linux_.seccomp, target),
                       0644);
    } catch (const Error& e) {
        throw Error(fmt::format("{}: compile the seccomp profile for {}: {}", b.dir, target, e.what()), e.code());
    }
    return true;
}

SecurityDefaults load_security_defaults(const std::string& dir) {
    SecurityDefaults s;
    s.seccomp = oci::load_default_seccomp_json(dir);
    oci::SecurityDefaults d = oci::load_security_defaults(dir);
    s.masked_paths = d.masked_paths;
    s.readonly_paths = d.readonly_paths;
    return s;
}

}  // namespace berth::builder
