#include "builder/kernel_image.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>

#include "builder/module_deps.hpp"
#include "builder/oci_image.hpp"
#include "builder/process.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace berth::builder {

namespace {

constexpr const char* kStamp = ".berth-extracted";

// Writes one regular file of the tree to `host_path`; false if `path` is absent.
bool export_file(const Tree& tree, const std::string& path, const std::string& host_path, const std::string& what,
                 const std::string& key) {
    const TreeEntry* e = tree.find(path);
    if (!e) return false;
    if (e->kind == TreeEntry::Kind::bytes_file) {
        fs::write_file(host_path, e->data, 0644);
    } else if (e->kind == TreeEntry::Kind::host_file) {
        run_checked({"cp", "--", e->host_path, host_path});
    } else {
        throw Error(what + ": " + key + " `/" + path.substr(path.find('/') + 1) + "` is not a regular file", EINVAL);
    }
    return true;
}

std::string missing(const std::string& what, const std::string& key, const std::string& name, const char* hint) {
    return what + ": the image has no `/" + name + "` (kernel." + key + "; " + hint + ")";
}

void remove_tree(const std::string& dir) { run_process({"rm", "-rf", "--", dir}); }

// A deterministic tar: sorted names, owner 0, a fixed time.
std::vector<std::string> tar_create(const std::string& out, const std::string& dir) {
    return {"tar", "--create", "--file", out, "--directory", dir, "--sort=name", "--owner=0", "--group=0",
            "--numeric-owner", "--mtime=@0", "--format=gnu"};
}

Descriptor add_blob(const std::string& layout, const std::string& file, const std::string& media_type) {
    Descriptor d;
    d.media_type = media_type;
    d.digest = sha256_file(file);
    struct stat st;
    if (::stat(file.c_str(), &st) < 0) throw_errno("stat `" + file + "`");
    d.size = std::uint64_t(st.st_size);
    std::string dest = fs::join(layout, "blobs/sha256/" + d.digest.substr(7));
    if (::rename(file.c_str(), dest.c_str()) < 0) throw_errno("rename `" + file + "` to `" + dest + "`");
    return d;
}

Descriptor add_blob_bytes(const std::string& layout, const std::string& data, const std::string& media_type) {
    std::string tmp = fs::join(layout, "blob.tmp");
    fs::write_file(tmp, data, 0644);
    return add_blob(layout, tmp, media_type);
}

nlohmann::json descriptor_json(const Descriptor& d) {
    return {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
}

}  // namespace

KernelFiles write_kernel_image_parts(const Tree& tree, const std::string& root, const KernelImageNames& names,
                                     const std::string& dest, const std::string& what) {
    fs::mkdir_p(dest);
    KernelFiles k;
    k.root = dest;
    k.vmlinuz = fs::join(dest, "kernel");
    if (!export_file(tree, root + "/" + names.binary, k.vmlinuz, what, "binary"))
        throw Error(missing(what, "binary", names.binary, "LinuxKit kernel images hold /kernel"), ENOENT);
    if (names.tar != "none") {
        std::string tar = fs::join(dest, "kernel.tar");
        if (!export_file(tree, root + "/" + names.tar, tar, what, "tar"))
            throw Error(missing(what, "tar", names.tar, "`tar: none` for a kernel without modules"), ENOENT);
        std::string mods = fs::join(dest, "modules");
        fs::mkdir_p(mods);
        // GNU tar refuses member names with `..` and defers links pointing outside.
        with_context(what + ": " + names.tar, [&] {
            run_checked({"tar", "--extract", "--file", tar, "--directory", mods, "--no-same-owner",
                         "--delay-directory-restore"});
        });
        ::unlink(tar.c_str());
        locate_modules(k, mods, "");
        if (k.modules_dir.empty())
            throw Error(what + ": `/" + names.tar + "` holds no lib/modules/<version>/ directory", ENOENT);
    }
    if (!names.ucode.empty()) {
        k.ucode = fs::join(dest, "ucode.cpio");
        if (!export_file(tree, root + "/" + names.ucode, k.ucode, what, "ucode"))
            throw Error(missing(what, "ucode", names.ucode, "leave kernel.ucode out for none"), ENOENT);
    }
    return k;
}

KernelFiles kernel_from_image(const ResolvedImage& image, const KernelImageNames& names, const std::string& cache_dir,
                              Arch arch) {
    // The cache key: what the image is and which of its files are used.
    std::string identity = names.binary + "\n" + names.tar + "\n" + names.ucode + "\n";
    if (image.kind == ResolvedImage::Kind::oci) {
        identity += image.oci.manifest.digest;
    } else {
        identity += image.path;
        for (const auto& n : {names.binary, names.tar, names.ucode}) {
            struct stat st;
            if (!n.empty() && ::stat(fs::join(image.path, n).c_str(), &st) == 0)
                identity += "\n" + n + " " + std::to_string(st.st_size) + " " + std::to_string(st.st_mtime);
        }
    }
    std::string dest = fs::join(cache_dir, "image-" + sha256_hex(identity).substr(0, 32));
    std::string stamp_text = identity + "\n";
    if (auto s = fs::try_read_file(fs::join(dest, kStamp)); s && *s == stamp_text) {
        log::info("kernel from {} (cached)", image.reference);
    } else {
        fs::mkdir_p(cache_dir);
        std::string tmp = dest + ".tmp-" + std::to_string(::getpid());
        remove_tree(tmp);
        try {
            Tree tree;
            log::info("extracting the kernel from {}", image.reference);
            if (image.kind == ResolvedImage::Kind::oci) {
                unpack_oci_image(tree, "r", image.oci, image.what);
            } else {
                for (const auto& n : {names.binary, names.tar, names.ucode})
                    if (!n.empty() && n != "none" && fs::exists(fs::join(image.path, n)))
                        tree.add_host_file("r/" + n, fs::join(image.path, n));
            }
            write_kernel_image_parts(tree, "r", names, tmp, image.what);
            fs::write_file(fs::join(tmp, kStamp), stamp_text);
            remove_tree(dest);
            if (::rename(tmp.c_str(), dest.c_str()) < 0) throw_errno("rename `" + tmp + "` to `" + dest + "`");
        } catch (...) {
            remove_tree(tmp);
            throw;
        }
    }
    KernelFiles k;
    k.root = dest;
    k.vmlinuz = fs::join(dest, "kernel");
    if (names.tar != "none") locate_modules(k, fs::join(dest, "modules"), "");
    if (!names.ucode.empty()) k.ucode = fs::join(dest, "ucode.cpio");
    if (image.kind == ResolvedImage::Kind::oci && !k.modules_dir.empty()) {
        const nlohmann::json& cfg = image.oci.config;
        nlohmann::json labels;
        if (cfg.is_object() && cfg.contains("config") && cfg["config"].is_object() && cfg["config"].contains("Labels"))
            labels = cfg["config"]["Labels"];
        if (labels.is_object() && labels.contains(kKernelModulesLabel)) {
            if (!labels[kKernelModulesLabel].is_string())
                throw Error(image.what + ": label " + kKernelModulesLabel + " is not a string", EINVAL);
            std::istringstream words(labels[kKernelModulesLabel].get<std::string>());
            for (std::string w; words >> w;) k.default_modules.push_back(w);
        }
    }
    if (auto got = kernel_image_arch(k.vmlinuz); got && *got != arch)
        throw Error(image.what + ": `/" + names.binary + "` is a kernel for " + arch_name(*got) + ", not " +
                        arch_name(arch),
                    ENOEXEC);
    return k;
}

void write_kernel_image_layout(const KernelFiles& kernel, const std::string& layout, Arch arch,
                               const std::string& ref_name, const std::vector<std::string>& modules) {
    std::string module_list;
    if (!modules.empty()) {
        if (kernel.modules_dir.empty())
            throw Error("kernel " + kernel.version + " has no lib/modules directory for --modules", ENOENT);
        ModuleTree tree(kernel.modules_dir);
        with_context("--modules", [&] { resolve_modules(modules, tree.facts()); });  // each one exists
        for (const auto& m : modules) module_list += (module_list.empty() ? "" : " ") + m;
    }
    remove_tree(layout);
    fs::mkdir_p(fs::join(layout, "blobs/sha256"));
    std::string stage = fs::join(layout, "stage");
    fs::mkdir_p(stage);
    run_checked({"cp", "--", kernel.vmlinuz, fs::join(stage, "kernel")});
    ::chmod(fs::join(stage, "kernel").c_str(), 0644);
    std::vector<std::string> members = {"kernel"};
    if (!kernel.modules_dir.empty()) {
        // kernel.tar holds lib/modules/<version>/ whatever the source tree called it.
        std::string parent = kernel.modules_dir.substr(0, kernel.modules_dir.rfind('/'));
        auto argv = tar_create(fs::join(stage, "kernel.tar"), parent);
        argv.push_back("--transform=s,^,lib/modules/,rhS");
        argv.push_back(kernel.version);
        run_checked(argv);
        members.push_back("kernel.tar");
    }
    std::string layer = fs::join(layout, "layer.tar");
    auto argv = tar_create(layer, stage);
    argv.insert(argv.end(), members.begin(), members.end());
    run_checked(argv);
    remove_tree(stage);
    std::string diff_id = sha256_file(layer);
    run_checked({"gzip", "-n", "-f", layer});
    Descriptor layer_d = add_blob(layout, layer + ".gz", "application/vnd.oci.image.layer.v1.tar+gzip");

    nlohmann::json config = {
        {"architecture", arch_name(arch)},
        {"os", "linux"},
        {"config", {{"Labels", {{"org.berth.kernel.version", kernel.version}}}}},
        {"rootfs", {{"type", "layers"}, {"diff_ids", {diff_id}}}},
    };
    if (!module_list.empty()) config["config"]["Labels"][kKernelModulesLabel] = module_list;
    Descriptor config_d = add_blob_bytes(layout, config.dump(), "application/vnd.oci.image.config.v1+json");
    nlohmann::json manifest = {
        {"schemaVersion", 2},
        {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
        {"config", descriptor_json(config_d)},
        {"layers", {descriptor_json(layer_d)}},
    };
    Descriptor manifest_d = add_blob_bytes(layout, manifest.dump(), "application/vnd.oci.image.manifest.v1+json");
    nlohmann::json entry = descriptor_json(manifest_d);
    entry["platform"] = {{"architecture", arch_name(arch)}, {"os", "linux"}};
    if (!ref_name.empty()) entry["annotations"] = {{"org.opencontainers.image.ref.name", ref_name}};
    nlohmann::json index = {{"schemaVersion", 2}, {"manifests", {entry}}};
    fs::write_file(fs::join(layout, "index.json"), index.dump(2) + "\n");
    fs::write_file(fs::join(layout, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}\n");
}

StoreEntry import_kernel_image(const std::string& source, const std::string& reference, const std::string& store_dir,
                               const std::string& kernel_cache_dir, Arch arch, const std::vector<std::string>& modules) {
    KernelFiles k = obtain_kernel(source, ".", kernel_cache_dir, arch);
    std::string layout = fs::join(fs::join(store_dir, "tmp"), "kernel-import-" + std::to_string(::getpid()));
    try {
        log::info("writing kernel {} as a kernel image", k.version);
        write_kernel_image_layout(k, layout, arch, "", modules);
        StoreEntry e = ImageStore(store_dir).import(layout, reference);
        remove_tree(layout);
        return e;
    } catch (...) {
        remove_tree(layout);
        throw;
    }
}

std::string export_kernel_layout(const std::string& source, const std::string& reference,
                                 const std::string& layout_dir, const std::string& kernel_cache_dir, Arch arch,
                                 const std::vector<std::string>& modules) {
    std::string ref = normalise_reference(reference);
    KernelFiles k = obtain_kernel(source, ".", kernel_cache_dir, arch);
    std::string tmp = layout_dir + ".tmp-" + std::to_string(::getpid());
    try {
        write_kernel_image_layout(k, tmp, arch, ref, modules);
        remove_tree(layout_dir);
        if (::rename(tmp.c_str(), layout_dir.c_str()) < 0)
            throw_errno("rename `" + tmp + "` to `" + layout_dir + "`");
    } catch (...) {
        remove_tree(tmp);
        throw;
    }
    return k.version;
}

}  // namespace berth::builder
