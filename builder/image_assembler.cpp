#include "builder/image_assembler.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <algorithm>
#include <map>
#include <set>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "builder/ab_disk.hpp"
#include "builder/disk_image.hpp"
#include "config/update_bundle.hpp"
#include "builder/arch.hpp"
#include "builder/image_store.hpp"
#include "builder/init_images.hpp"
#include "builder/initrd_writer.hpp"
#include "builder/kernel_image.hpp"
#include "builder/suggest.hpp"
#include "builder/yaml_input.hpp"
#include "builder/yaml_json.hpp"
#include "builder/module_classes.hpp"
#include "builder/module_deps.hpp"
#include "builder/bundle.hpp"
#include "builder/oci_config_gen.hpp"
#include "builder/outputs.hpp"
#include "builder/uki.hpp"
#include "config/dependency_graph.hpp"
#include "config/oci_defaults.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace berth::builder {

// Where A/B images carry berth-update (ctl/ctl.hpp's kUpdateProgram).
constexpr const char* ctl_update_program = "/usr/lib/berth/berth-update";

namespace {

// Directories every image has; PID 1 mounts over most of them.
struct StdDir { const char* path; std::uint32_t mode; };
constexpr StdDir kStdDirs[] = {
    {"proc", 0555}, {"sys", 0555}, {"dev", 0755}, {"run", 0755}, {"tmp", 01777},
    {"var", 0755}, {"etc", 0755}, {"containers", 0755}, {"containers/onboot", 0755},
    {"containers/services", 0755}, {"containers/onshutdown", 0755},
};

// Refuses what cannot possibly run as /init; warns about a dynamically linked binary.
void check_init_binary(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) < 0) throw_errno("init binary `" + path + "`");
    if (!S_ISREG(st.st_mode)) throw Error("init binary `" + path + "` is not a regular file", EINVAL);
    std::string img = fs::read_file(path);
    if (img.size() < sizeof(Elf64_Ehdr) || img.compare(0, SELFMAG, ELFMAG) != 0 || img[EI_CLASS] != ELFCLASS64) {
        log::warn("init binary `{}` is not a 64-bit ELF executable", path);
        return;
    }
    Elf64_Ehdr eh;
    std::memcpy(&eh, img.data(), sizeof eh);
    for (std::size_t i = 0; i < eh.e_phnum; ++i) {
        std::size_t off = eh.e_phoff + i * sizeof(Elf64_Phdr);
        if (off + sizeof(Elf64_Phdr) > img.size()) break;
        Elf64_Phdr ph;
        std::memcpy(&ph, img.data() + off, sizeof ph);
        if (ph.p_type == PT_INTERP) {
            log::warn("init binary `{}` is dynamically linked; the initrd has no libraries for it", path);
            return;
        }
    }
}

// Paths berth generates and PID 1 depends on; `files:` may replace them, with a warning.
bool is_reserved(const std::string& path) {
    for (const char* p : {"init", "containers", "etc/berth", "lib/modules"}) {
        std::string r = p;
        if (path == r || path.rfind(r + "/", 0) == 0) return true;
    }
    return false;
}

// `written` is the entry's source as the model holds it, `src` where it was looked for.
std::string missing_source_message(const std::string& written, const std::string& src) {
    bool relative = !written.empty() && written[0] != '/';
    return "source `" + src + "` does not exist" +
           (relative ? " (`" + written + "`: a relative source is read from the YAML file's directory)" : "");
}

void add_files_section(Tree& tree, const ImageSpec& spec) {
    for (const auto& f : spec.files) {
        if (is_reserved(f.path) && tree.contains(f.path) && !f.directory)
            log::warn("{}: files: `{}` replaces a file berth generated", f.pos.str(), f.path);
        with_context(f.pos.str() + ": files: `" + f.path + "`", [&] {
            if (f.directory) {
                tree.add_directory(f.path, f.mode.value_or(0755), f.uid, f.gid);
            } else if (f.symlink) {
                tree.add_symlink(f.path, *f.symlink, f.uid, f.gid);
            } else if (f.source) {
                std::string src = file_source_path(spec, f);
                if (!fs::exists(src)) {
                    if (f.optional) {
                        log::warn("{}: optional source `{}` not found; skipped", f.pos.str(), src);
                        return;
                    }
                    throw Error(missing_source_message(f.source.value_or(""), src), ENOENT);
                }
                if (fs::is_dir(src)) {
                    tree.add_host_tree(f.path, src);
                    if (f.mode) tree.add_directory(f.path, *f.mode, f.uid, f.gid);
                } else {
                    struct stat st;
                    if (::stat(src.c_str(), &st) < 0) throw_errno("stat `" + src + "`");
                    tree.add_host_file(f.path, src, f.mode.value_or(st.st_mode & 07777), f.uid, f.gid);
                }
            } else if (f.metadata) {
                tree.add_bytes(f.path, image_metadata(spec, *f.metadata), f.mode.value_or(0644), f.uid, f.gid);
            } else {
                tree.add_bytes(f.path, f.contents.value_or(""), f.mode.value_or(0600), f.uid, f.gid);
            }
        });
    }
}

// Bytes and files under `prefix` (all when empty) in the tree.
BuildResult::Part measure(const Tree& tree, const std::string& what, const std::string& prefix) {
    BuildResult::Part p{what, 0, 0};
    std::string pre = prefix.empty() ? "" : prefix + "/";
    for (const auto& e : tree.entries()) {
        if (!prefix.empty() && e.first != prefix && e.first.compare(0, pre.size(), pre) != 0) continue;
        auto it = &e;
        if (it->second.kind == TreeEntry::Kind::host_file || it->second.kind == TreeEntry::Kind::bytes_file) {
            p.bytes += it->second.size;
            p.files += 1;
        }
    }
    return p;
}

// One line on stderr per long step when stderr is a terminal.
void progress(const std::string& what) {
    static const bool tty = ::isatty(2);
    if (tty) std::fprintf(stderr, "berth: %s ...\n", what.c_str());
}

// The small initrd of kernel+squashfs: /init, the modules that reach a virtio or
// SCSI disk and read squashfs (with their dependencies; absent or built-in ones are
// skipped) and the marker that makes PID 1 mount the squashfs as its root.
Tree squashfs_boot_tree(const BuildOptions& opts, const KernelFiles& kernel, bool verity) {
    Tree boot;
    for (const char* d : {"dev", "proc", "sys", "etc", "etc/berth"}) boot.add_directory(d, 0755);
    boot.add_char_device("dev/console", 5, 1, 0600);
    boot.add_host_file("init", opts.init_binary, 0755);
    std::vector<std::pair<std::string, std::string>> files;
    std::vector<std::string> builtin;
    if (!kernel.modules_dir.empty()) {
        ModuleTree mods(kernel.modules_dir);
        std::vector<std::string> wanted;
        for (const char* m : {"virtio_pci", "virtio_blk", "squashfs"})
            if (mods.file_of(m) || mods.is_builtin(m)) wanted.push_back(m);
        // The verified root: PID 1 maps the disk through dm-verity before mounting it.
        if (verity)
            for (const char* m : {"dm_mod", "dm_bufio", "dm_verity"}) {
                if (!mods.file_of(m) && !mods.is_builtin(m))
                    throw Error("berth.verity: the kernel has no `" + std::string(m) + "` module (CONFIG_DM_VERITY)", ENOENT);
                wanted.push_back(m);
            }
        ModuleLoadPlan plan = resolve_modules(wanted, mods.facts());
        for (const auto& m : plan.load_order) {
            std::string rel = *mods.file_of(m);
            boot.add_host_file("lib/modules/" + kernel.version + "/" + rel, fs::join(mods.dir(), rel), 0644);
            files.emplace_back(rel, "");
        }
        builtin = plan.builtin;
    }
    boot.add_bytes("etc/berth/modules", modules_list_text(kernel.version, files, builtin), 0644);
    boot.add_bytes("etc/berth/squashfs-root",
                   "# berth-init mounts the squashfs root found on a disk (or berth.root=DEVICE) as /\n", 0644);
    return boot;
}

// Resolves an image named by the YAML outside a container entry (kernel.image,
// init:) with the same rules, pins and pulls as a container's image.
ResolvedImage resolve_reference(const ImageResolver& resolver, const ImageSpec& spec, const std::string& ref,
                                const SourcePos& pos, const std::string& role) {
    std::string where = pos.line > 0 ? pos.str() : spec.file;
    return resolver.resolve(ref, spec.base_dir, where + ": " + role + ": image '" + ref + "'");
}

// LinuxKit kernel images may carry microcode for the initrd's front (the kernel
// reads an uncompressed cpio there before the compressed root archive).
void prepend_ucode(const std::string& ucode, const std::string& initrd) {
    std::string tmp = initrd + ".ucode-tmp";
    std::string data = fs::read_file(ucode) + fs::read_file(initrd);
    fs::write_file(tmp, data, 0644);
    if (::rename(tmp.c_str(), initrd.c_str()) < 0) throw_errno("rename `" + tmp + "` to `" + initrd + "`");
}

// A `format: oci` volume: an OCI image layout (oci-layout, index.json naming one
// manifest per platform with the reference, and every blob they reach), as LinuxKit
// writes it for a container engine in the image to load.
void add_oci_layout(Tree& tree, const std::string& root, const std::string& reference,
                    const std::vector<std::pair<Platform, ResolvedImage>>& per_platform) {
    nlohmann::json manifests = nlohmann::json::array();
    std::set<std::string> written;
    tree.add_directory(root + "/blobs", 0755);
    tree.add_directory(root + "/blobs/sha256", 0755);
    for (const auto& [pl, img] : per_platform) {
        const Descriptor& m = img.oci.manifest;
        manifests.push_back({{"mediaType", m.media_type},
                             {"digest", m.digest},
                             {"size", m.size},
                             {"platform", {{"os", pl.os}, {"architecture", pl.architecture}}},
                             {"annotations", {{"org.opencontainers.image.ref.name", reference}}}});
        for (const Descriptor& d : blob_closure(img.oci.layout_dir, m, img.what)) {
            if (!written.insert(d.digest).second) continue;
            verify_blob(img.oci.layout_dir, d, img.what);
            tree.add_host_file(root + "/blobs/sha256/" + d.digest.substr(7), img.oci.blob_path(d.digest), 0644, 0, 0);
        }
    }
    tree.add_bytes(root + "/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}\n", 0644);
    tree.add_bytes(root + "/index.json",
                   nlohmann::json{{"schemaVersion", 2}, {"manifests", manifests}}.dump() + "\n", 0644);
}

}  // namespace

void check_dependencies(const ImageSpec& spec) {
    std::map<std::string, const ContainerSpec*> services;
    for (const auto& s : spec.services) services[s.name] = &s;
    for (const auto& s : spec.services)
        for (const char* key : {"dependsOn", "waitsFor", "after"}) {
            if (!s.policy.contains(key) || !s.policy[key].is_array()) continue;
            const auto& list = s.policy[key];
            for (std::size_t i = 0; i < list.size(); ++i) {
                std::string p = "services[" + std::to_string(s.index) + "]." + key + "[" + std::to_string(i) + "]";
                auto it = s.key_pos.find(p);
                SourcePos pos = it != s.key_pos.end() ? it->second : s.pos;
                std::string n = list[i].get<std::string>();
                if (n == s.name) throw YamlError(pos, p, "service '" + s.name + "' cannot depend on itself");
                if (!services.count(n)) {
                    std::vector<std::string> names;
                    for (const auto& [k, v] : services) names.push_back(k);
                    auto best = closest_match(n, names);
                    throw YamlError(pos, p, "no service named '" + n + "'" + (best ? "; did you mean '" + *best + "'?" : ""));
                }
            }
        }
    // Cycles: the graph PID 1 checks before it starts anything, over the same
    // parsed policies; reported at the relation of the first service on the cycle.
    std::map<std::string, config::ServicePolicy> policies;
    std::map<std::string, const config::ServicePolicy*> graph;
    for (const auto& s : spec.services) {
        std::string entry = "services[" + std::to_string(s.index) + "]";
        // A policy that does not parse is reported at its key with runtime.json
        // (runtime_config_errors); here it adds no edge.
        try {
            policies[s.name] = config::parse_service_policy(s.policy, entry);
        } catch (const config::ConfigError&) {
            policies[s.name] = config::ServicePolicy{};
        }
        graph[s.name] = &policies[s.name];
    }
    auto errors = config::check_dependencies(graph);
    for (const auto& s : spec.services) {
        auto err = errors.find(s.name);
        if (err == errors.end()) continue;
        std::string entry = "services[" + std::to_string(s.index) + "]";
        std::string path = entry;
        SourcePos pos = s.pos;
        for (const char* key : {"dependsOn", "waitsFor", "after"})
            if (auto it = s.key_pos.find(entry + "." + key); it != s.key_pos.end()) {
                path = it->first;
                pos = it->second;
                break;
            }
        throw YamlError(pos, path, err->second);
    }
}

std::string image_metadata(const ImageSpec& spec, const std::string& format) {
    if (format == "yaml") return spec.text;
    // JSON: the YAML document converted, as LinuxKit's `metadata: json` does.
    std::map<std::string, SourcePos> ignored;
    YAML::Node root = YAML::Load(spec.text);
    resolve_merge_keys(root, spec.file);
    return yaml_to_json(root, "", spec.file, ignored).dump(2) + "\n";
}

std::string file_source_path(const ImageSpec& spec, const FileSpec& f) {
    const std::string& src = f.source.value_or("");
    // Normalised, so that messages say `conf/x`, not `././conf/x`.
    return std::filesystem::path(!src.empty() && src[0] == '/' ? src : fs::join(spec.base_dir, src))
        .lexically_normal()
        .string();
}

std::vector<YamlError> missing_file_sources(const ImageSpec& spec) {
    std::vector<YamlError> out;
    for (std::size_t i = 0; i < spec.files.size(); ++i) {
        const FileSpec& f = spec.files[i];
        if (!f.source || f.optional) continue;
        if (std::string src = file_source_path(spec, f); !fs::exists(src))
            out.emplace_back(f.pos, "files[" + std::to_string(i) + "].source", missing_source_message(*f.source, src));
    }
    return out;
}

std::string default_output_name(const std::string& yaml_file) {
    std::string base = yaml_file.substr(yaml_file.rfind('/') == std::string::npos ? 0 : yaml_file.rfind('/') + 1);
    for (const char* ext : {".yml", ".yaml"}) {
        std::string e = ext;
        if (base.size() > e.size() && base.compare(base.size() - e.size(), e.size(), e) == 0)
            return base.substr(0, base.size() - e.size());
    }
    return base;
}

std::string modules_list_text(const std::string& kernel_version,
                              const std::vector<std::pair<std::string, std::string>>& files_and_params,
                              const std::vector<std::string>& builtin) {
    std::string out = "# kernel modules for " + kernel_version + ", in load order (generated by berth build)\n";
    for (const auto& b : builtin) out += "# " + b + ": built into the kernel\n";
    for (const auto& [file, params] : files_and_params)
        out += "/lib/modules/" + kernel_version + "/" + file + (params.empty() ? "" : " " + params) + "\n";
    return out;
}

std::vector<BuildOptionProblem> check_build_options(const BuildOptions& opts, const ImageSpec& spec,
                                                    bool key_options, std::string* update_key) {
    std::vector<BuildOptionProblem> problems;
    auto problem = [&](std::string message, bool in_yaml = false) {
        problems.push_back({std::move(message), in_yaml});
    };
    Arch arch = opts.arch.empty() ? host_arch() : parse_arch(opts.arch);
    const auto& fmts = opts.formats.empty() ? spec.outputs : opts.formats;
    bool ab = std::find(fmts.begin(), fmts.end(), "raw-efi-ab") != fmts.end();
    bool uki = std::find(fmts.begin(), fmts.end(), "uki") != fmts.end();
    // The A/B disk: its slots' size and the bundle's signing key are checked first.
    if (ab) {
        if (!spec.update) problem("raw-efi-ab needs an `update:` key with the slot size (update: {slotSize: 256M})", true);
        if (opts.update_key_file.empty()) {
            if (key_options) problem("raw-efi-ab: the update bundle is signed: give --update-key KEYFILE (64 hex digits)");
        } else {
            try {
                std::string key = with_context("--update-key `" + opts.update_key_file + "`", [&] {
                    return update::parse_private_key(fs::read_file(opts.update_key_file));
                });
                if (update_key) *update_key = key;
            } catch (const std::exception& e) {
                problem(e.what());
            }
        }
    }
    for (const auto& f : fmts)
        // Their boot loaders (syslinux, systemd-bootx64.efi) are x86 programs.
        if ((is_disk_format(f) || f == "raw-efi-ab") && arch != Arch::amd64)
            problem("output format `" + f + "` is for amd64 only (this build is for " + std::string(arch_name(arch)) +
                    "); use kernel+initrd or tar");
    // The stub (linuxx64.efi.stub) is an x86 program.
    if (uki && arch != Arch::amd64)
        problem("output format `uki` is for amd64 only (this build is for " + std::string(arch_name(arch)) + ")");
    // The disks boot the build's uki and hold no squashfs: a UKI made for one
    // cannot boot them.
    bool squashfs = std::find(fmts.begin(), fmts.end(), "kernel+squashfs") != fmts.end();
    if (uki && squashfs && std::any_of(fmts.begin(), fmts.end(), [](const std::string& d) { return is_disk_format(d); }))
        problem("the uki of this build boots the kernel+squashfs root, which the disk image outputs do not "
                "hold; build the disk images and that uki separately");
    if (!opts.signing_key.empty() || !opts.signing_cert.empty()) {
        if (!uki && !ab)
            problem("--sign-key/--sign-cert sign the `uki` and `raw-efi-ab` outputs, which this build does not write");
        try {
            check_signing_key({opts.signing_key, opts.signing_cert});  // before the kernel download
        } catch (const std::exception& e) {
            problem(e.what());
        }
    }
    return problems;
}

namespace {
// An output file's own times: the build's, as `ls -t` and make expect, unless
// SOURCE_DATE_EPOCH asks for a fixed one. Some tools (mtools, mksquashfs,
// qemu-img on their input) date the file from SOURCE_DATE_EPOCH, which is 0
// when unset; the bytes inside stay reproducible either way.
// `fixed`: SOURCE_DATE_EPOCH was in the environment berth was started with
// (the disk writers set it for their tools).
void stamp_output(const std::string& path, bool fixed) {
    struct timespec ts[2] = {{time_t(source_date_epoch()), 0}, {time_t(source_date_epoch()), 0}};
    if (::utimensat(AT_FDCWD, path.c_str(), fixed ? ts : nullptr, 0) < 0)
        log::warn("set the times of `{}`: {}", path, std::strerror(errno));
}
}  // namespace

BuildResult build_image(const BuildOptions& opts) {
    auto t0 = std::chrono::steady_clock::now();
    BuildResult r;
    std::vector<std::string> yaml_files = {opts.yaml_file};
    yaml_files.insert(yaml_files.end(), opts.more_yaml_files.begin(), opts.more_yaml_files.end());
    ImageSpec spec = load_image_yamls(yaml_files);
    std::string name = opts.name.empty() ? default_output_name(opts.yaml_file) : opts.name;

    // Everything that can fail cheaply is checked before the kernel download.
    Arch arch = opts.arch.empty() ? host_arch() : parse_arch(opts.arch);
    bool ab = false;
    for (const auto& f : opts.formats.empty() ? spec.outputs : opts.formats) ab |= f == "raw-efi-ab";
    std::string update_key;
    std::vector<BuildOptionProblem> option_problems = check_build_options(opts, spec, true, &update_key);
    if (!option_problems.empty()) {
        const BuildOptionProblem& p = option_problems.front();
        throw Error(p.in_yaml ? spec.file + ": " + p.message : p.message, EINVAL);
    }
    Platform platform;
    platform.architecture = arch_name(arch);
    ImageResolver resolver = ImageResolver::from_command_line(opts.image_dirs, opts.store_dir, platform);
    if (opts.pull) resolver.enable_pull(opts.registry);
    // Every image is looked up before any error is reported, so that a YAML naming
    // several images that are not there yet lists them all in one run.
    std::vector<std::pair<SourcePos, std::string>> image_problems;
    auto collect = [&](const SourcePos& at, auto&& fn) {
        try {
            fn();
        } catch (const std::exception& e) {
            image_problems.emplace_back(at, e.what());
        }
    };
    std::vector<std::pair<const ContainerSpec*, ResolvedImage>> images;
    for (const ContainerSpec* c : spec.containers()) {
        check_policy(*c);
        collect(c->pos, [&] {
            ResolvedImage img = resolver.resolve(spec, *c);
            if (img.kind == ResolvedImage::Kind::directory)
                check_rootfs_arch(img.path, arch, c->pos.str() + ": " + c->name + ": image `" + c->image + "`");
            images.emplace_back(c, std::move(img));
        });
    }
    // init: images, in order; those whose work berth's PID 1 does are left out.
    std::vector<std::pair<const InitImage*, ResolvedImage>> init_images;
    for (std::size_t i = 0; i < spec.init.size(); ++i) {
        const InitImage& in = spec.init[i];
        if (berth_replaces_init_image(in.reference)) {
            log::info("{}: init: `{}` skipped: berth's PID 1 does its work", in.pos.str(), in.reference);
            continue;
        }
        collect(in.pos, [&] {
            ResolvedImage img = resolve_reference(resolver, spec, in.reference, in.pos, "init[" + std::to_string(i) + "]");
            if (img.kind == ResolvedImage::Kind::directory)
                check_rootfs_arch(img.path, arch, in.pos.str() + ": init image `" + in.reference + "`");
            init_images.emplace_back(&in, std::move(img));
        });
    }
    std::optional<ResolvedImage> kernel_image;
    if (!spec.kernel.image.empty())
        collect(spec.kernel.image_pos, [&] {
            kernel_image = resolve_reference(resolver, spec, spec.kernel.image, spec.kernel.image_pos, "kernel.image");
        });
    // Volumes with contents come from images like containers do; a `format: oci`
    // volume's image once per platform it names (the target's when none).
    std::vector<std::pair<const VolumeSpec*, ResolvedImage>> volume_images;
    std::vector<std::pair<const VolumeSpec*, std::vector<std::pair<Platform, ResolvedImage>>>> volume_layouts;
    for (const VolumeSpec& v : spec.volumes) {
        if (v.image.empty()) continue;
        const SourcePos& at = v.image_pos.line > 0 ? v.image_pos : v.pos;
        std::string role = "volume '" + v.name + "'";
        if (!v.oci_layout) {
            collect(at, [&] { volume_images.emplace_back(&v, resolve_reference(resolver, spec, v.image, at, role)); });
            continue;
        }
        volume_layouts.emplace_back(&v, std::vector<std::pair<Platform, ResolvedImage>>{});
        std::vector<std::string> names = v.platforms;
        if (names.empty()) names.push_back(platform.os + "/" + platform.architecture);
        for (const std::string& name : names)
            collect(at, [&] {
                Platform pl;
                pl.os = name.substr(0, name.find('/'));
                std::string rest = name.substr(name.find('/') + 1);
                pl.architecture = rest.substr(0, rest.find('/'));
                ImageResolver for_platform = ImageResolver::from_command_line(opts.image_dirs, opts.store_dir, pl);
                if (opts.pull) for_platform.enable_pull(opts.registry);
                ResolvedImage img = resolve_reference(for_platform, spec, v.image, at, role + " (" + name + ")");
                if (img.kind != ResolvedImage::Kind::oci)
                    throw Error(img.what + ": format 'oci' needs an OCI image (from the store or an OCI layout); "
                                "`" + img.path + "` is a root file system directory");
                volume_layouts.back().second.emplace_back(pl, std::move(img));
            });
    }
    if (image_problems.size() == 1) throw Error(image_problems.front().second);
    if (!image_problems.empty()) {
        // In the order of the files, as the YAML reads (they were looked up by role).
        std::stable_sort(image_problems.begin(), image_problems.end(), [&](const auto& a, const auto& b) {
            return before_in_files(yaml_files, a.first, b.first);
        });
        std::string text = std::to_string(image_problems.size()) + " images cannot be used:";
        for (const auto& [at, m] : image_problems) text += "\n  " + m;
        if (!opts.pull) text += "\n(`berth build --pull` pulls every missing image from its registry)";
        throw Error(text);
    }
    check_dependencies(spec);
    std::vector<std::string> formats = opts.formats.empty() ? spec.outputs : opts.formats;
    for (const auto& f : formats)
        if (!is_output_format(f)) throw Error("unknown output format `" + f + "`", EINVAL);
    // The uki boots the kernel+squashfs output of the same build: written after it;
    // the disk images boot the uki: written after that.
    if (std::find(formats.begin(), formats.end(), "uki") != formats.end()) {
        std::stable_partition(formats.begin(), formats.end(), [](const std::string& f) { return !is_disk_format(f); });
        std::stable_partition(formats.begin(), formats.end(),
                              [](const std::string& f) { return f != "uki" && !is_disk_format(f); });
    }
    bool any_default_security = false;
    for (const ContainerSpec* c : spec.containers())
        any_default_security |= c->seccomp == "default" || !c->masked_paths || !c->readonly_paths;
    SecurityDefaults security;
    if (any_default_security)
        security = with_context("berth's security defaults (config/defaults; set BERTH_DEFAULTS_DIR)", [&] {
            return load_security_defaults(opts.defaults_dir.empty() ? oci::defaults_dir() : opts.defaults_dir);
        });
    if (opts.init_binary.empty()) throw Error("no init binary given (--init PATH)", EINVAL);
    check_init_binary(opts.init_binary);
    check_elf_arch(opts.init_binary, arch, "init binary `" + opts.init_binary + "`");
    if (!opts.skel_dir.empty() && !fs::is_dir(opts.skel_dir))
        throw Error("root file system skeleton `" + opts.skel_dir + "` is not a directory", ENOENT);

    std::string cache = opts.kernel_cache_dir.empty() ? default_kernel_cache_dir() : opts.kernel_cache_dir;
    KernelFiles kernel;
    std::string kernel_what;
    if (kernel_image) {
        KernelImageNames names{spec.kernel.binary, spec.kernel.tar, spec.kernel.ucode};
        kernel = kernel_from_image(*kernel_image, names, cache, arch);
        kernel_what = "image `" + spec.kernel.image + "`" + (names.tar == "none" ? " (tar: none)" : "");
    } else {
        kernel = obtain_kernel(spec.kernel.package, spec.base_dir, cache, arch);
        kernel_what = "`" + spec.kernel.package + "`";
    }
    r.kernel_version = kernel.version;

    Tree tree;
    if (!opts.skel_dir.empty()) tree.add_host_tree("", opts.skel_dir);
    // init: images are the base of the root, as in LinuxKit; what berth writes below wins.
    for (const auto& [in, img] : init_images) {
        progress("unpacking init image " + in->reference);
        BuildResult::Part part{"init: " + in->reference, 0, 0};
        std::uint64_t before = measure(tree, "", "").bytes;
        part.files = merge_init_image(tree, img);
        std::uint64_t after = measure(tree, "", "").bytes;
        part.bytes = after > before ? after - before : 0;
        r.parts.push_back(part);
    }
    for (const auto& d : kStdDirs) tree.add_directory(d.path, d.mode);
    tree.add_char_device("dev/console", 5, 1, 0600);
    tree.add_host_file("init", opts.init_binary, 0755);
    // An A/B image carries the update program that `berth update` runs (ctl/update_main.cpp).
    if (ab) {
        std::string dir = opts.init_binary.substr(0, opts.init_binary.rfind('/') + 1);
        std::string program = opts.update_binary.empty() ? dir + "berth-update" : opts.update_binary;
        if (!fs::exists(program))
            throw Error("raw-efi-ab: the update program `" + program +
                            "` does not exist (build the berth-update target next to berth-init)",
                        ENOENT);
        check_elf_arch(program, arch, "update program `" + program + "`");
        for (const char* d : {"usr", "usr/lib", "usr/lib/berth"}) tree.add_directory(d, 0755);
        tree.add_host_file(std::string(ctl_update_program).substr(1), program, 0755);
    }

    // Kernel modules.
    std::vector<std::pair<std::string, std::string>> module_files;
    // A writable container needs overlayfs: load it when this kernel has it as a
    // module (LinuxKit's kernels have it built in).
    std::vector<ModuleRequest> modules;
    for (const auto& name : kernel.default_modules)  // the kernel image's own (its label)
        if (std::none_of(spec.kernel.modules.begin(), spec.kernel.modules.end(),
                         [&](const auto& m) { return normalise_module_name(m.name) == normalise_module_name(name); }))
            modules.push_back(ModuleRequest{name, "", spec.kernel.image_pos});
    modules.insert(modules.end(), spec.kernel.modules.begin(), spec.kernel.modules.end());
    // The A/B disk: PID 1 and `berth update` mount the ESP (FAT) to bless or add
    // boot entries; codepage 437 and UTF-8 are the FAT driver's defaults here.
    if (ab && !kernel.modules_dir.empty()) {
        ModuleTree mods(kernel.modules_dir);
        for (const char* m : {"vfat", "nls_cp437", "nls_utf8", "nls_ascii"})
            if (mods.file_of(m) &&
                std::none_of(modules.begin(), modules.end(), [&](const auto& r) { return normalise_module_name(r.name) == m; }))
                modules.push_back(ModuleRequest{m, "", spec.update->pos});
    }
    bool writable = false;
    for (const ContainerSpec* c : spec.containers()) writable |= !c->readonly;
    if (writable && !kernel.modules_dir.empty() && ModuleTree(kernel.modules_dir).file_of("overlay") &&
        std::none_of(modules.begin(), modules.end(), [](const auto& m) { return normalise_module_name(m.name) == "overlay"; }))
        modules.push_back(ModuleRequest{"overlay", "", spec.kernel.pos});
    std::vector<std::string> classes = shipped_module_classes(spec.kernel);
    if (!modules.empty() && kernel.modules_dir.empty())
        throw Error(spec.kernel.pos.str() + ": kernel.modules: the kernel " + kernel_what +
                        " has no lib/modules directory",
                    ENOENT);
    if (!kernel.modules_dir.empty() && (!modules.empty() || !classes.empty())) {
        ModuleTree mods(kernel.modules_dir);
        std::set<std::string> shipped;
        std::vector<std::string> shipped_order;  // dependencies first
        auto ship = [&](const std::string& m) {
            if (!shipped.insert(m).second) return;
            std::string rel = *mods.file_of(m);
            tree.add_host_file("lib/modules/" + kernel.version + "/" + rel, fs::join(mods.dir(), rel), 0644);
            shipped_order.push_back(m);
        };
        std::vector<std::string> requested;
        std::map<std::string, std::string> params;
        for (const auto& m : modules) {
            requested.push_back(m.name);
            if (!m.params.empty()) params[normalise_module_name(m.name)] = m.params;
        }
        ModuleLoadPlan plan = with_context(spec.kernel.pos.str() + ": kernel.modules", [&] {
            return resolve_modules(requested, mods.facts());
        });
        for (const auto& m : plan.load_order) {
            ship(m);
            module_files.emplace_back(*mods.file_of(m), params.count(m) ? params[m] : "");
        }
        for (const auto& b : plan.builtin)
            if (params.count(b))
                log::warn("module `{}` is built into the kernel; its parameters must go on the kernel command "
                          "line as {}.<param>=<value>", b, b);
        r.modules = plan.load_order;
        r.builtin_modules = plan.builtin;
        // Coldplug: the classes' modules and their dependencies, loaded by PID 1
        // only when a device matches one of their aliases.
        ModuleLoadPlan by_class = with_context(spec.kernel.pos.str() + ": kernel.modules", [&] {
            return resolve_modules(modules_of_classes(mods, classes), mods.facts());
        });
        for (const auto& m : by_class.load_order)
            if (!shipped.count(m)) r.coldplug_modules.push_back(m);
        for (const auto& m : by_class.load_order) ship(m);
        std::string dir = "lib/modules/" + kernel.version + "/";
        tree.add_bytes(dir + "modules.alias", modules_alias_text(mods, shipped_order), 0644);
        tree.add_bytes(dir + "modules.dep", modules_dep_text(mods, shipped_order), 0644);
    }
    tree.add_directory("etc/berth", 0755);
    tree.add_bytes("etc/berth/modules", modules_list_text(kernel.version, module_files, r.builtin_modules), 0644);

    // Containers.
    std::vector<Bundle> bundles;
    for (const auto& [c, img] : images) {
        progress("unpacking " + c->image + " for " + container_dir(*c));
        bundles.push_back(add_bundle(tree, *c, img, security));
        add_seccomp_program(tree, bundles.back(), arch);
    }
    // Volumes: an empty directory, or the image's root file system.
    for (const VolumeSpec& v : spec.volumes) tree.add_directory(v.path.substr(1), 0755);
    for (const auto& [v, img] : volume_images) {
        progress("unpacking " + v->image + " for volume " + v->name);
        add_image_rootfs(tree, v->path.substr(1), img);
    }
    for (const auto& [v, per_platform] : volume_layouts) {
        progress("writing " + v->image + " as an OCI layout for volume " + v->name);
        add_oci_layout(tree, v->path.substr(1), v->image, per_platform);
    }
    std::optional<config::UpdateConfig> update_config;
    if (ab) {
        config::UpdateConfig u;
        u.name = name;
        u.arch = arch_name(arch);
        u.version = spec.update->version;
        u.public_key = update::to_hex(update::ed25519_public_key(update_key));
        u.slot_bytes = spec.update->slot_bytes;
        u.tries = spec.update->tries;
        u.commit_when_ready = spec.update->commit_when_ready;
        u.deadline_ms = spec.update->deadline_ms;
        update_config = u;
    }
    if (spec.watchdog || spec.emergency || update_config)
        tree.add_bytes(std::string(config::kImageConfigPath).substr(1),
                       config::to_json(config::ImageConfig{spec.watchdog, spec.emergency, update_config}).dump(2) + "\n",
                       0644);

    // files: last, so they can override anything above.
    add_files_section(tree, spec);
    // The root is read-only at run time: every mount point must already exist.
    for (const auto& b : bundles) add_mount_points(tree, b.image_root, b.config_text);

    // Outputs.
    fs::mkdir_p(opts.out_dir);
    std::string prefix = fs::join(opts.out_dir, name);
    OutputOptions oo;
    oo.prefix = prefix;
    oo.kernel_image = kernel.vmlinuz;
    oo.cmdline = cmdline_for(spec.kernel.cmdline, arch);
    check_cmdline_length(oo.cmdline, "the kernel command line");
    oo.compression = opts.compression;
    oo.mtime = source_date_epoch();
    const bool fixed_times = std::getenv("SOURCE_DATE_EPOCH") != nullptr;
    oo.name = name;
    oo.kernel_version = kernel.version;
    oo.signing_key = opts.signing_key;
    oo.signing_cert = opts.signing_cert;
    if (spec.data_partition) {
        oo.data_partition_bytes = spec.data_partition->bytes;
        oo.data_partition_label = spec.data_partition->label;
    }
    Tree boot;
    bool squashfs = std::find(formats.begin(), formats.end(), "kernel+squashfs") != formats.end();
    if (spec.verity && !squashfs)
        throw Error(spec.file + ": berth.verity protects the kernel+squashfs output, which this build does not write",
                    EINVAL);
    if (squashfs) {
        boot = squashfs_boot_tree(opts, kernel, spec.verity);
        oo.boot_tree = &boot;
        oo.verity = spec.verity;
    }
    Tree ab_boot;
    if (ab) ab_boot = squashfs_boot_tree(opts, kernel, true);
    for (const auto& f : formats) {
        progress("writing " + f);
        std::vector<OutputFile> written;
        if (f == "raw-efi-ab") {
            OutputOptions abo = oo;
            abo.boot_tree = &ab_boot;
            AbSettings settings{spec.update->slot_bytes, name, arch_name(arch), spec.update->version, update_key};
            written = write_ab_disk(tree, abo, settings);
        } else {
            written = write_output(f, tree, oo);
        }
        for (auto& file : written) {
            if (!kernel.ucode.empty() && file.what == "initrd") {
                prepend_ucode(kernel.ucode, file.path);
                file.bytes += fs::read_file(kernel.ucode).size();
            }
            if (!kernel.ucode.empty() && (f == "iso-bios" || is_disk_format(f) || (f == "uki" && !squashfs)))
                log::warn("{}: kernel.ucode is not added to the {} image", spec.kernel.pos.str(), f);
            stamp_output(file.path, fixed_times);
            r.files.push_back(std::move(file));
        }
        if (f == "uki") oo.uki = prefix + ".efi";  // what the disk images written next boot
    }
    r.initrd_raw_bytes = newc_size(tree);
    r.initrd_entries = tree.size();
    r.kernel_path = prefix + "-kernel";
    r.initrd_path = prefix + "-initrd.img";
    r.cmdline_path = prefix + "-cmdline";
    r.parts.push_back(measure(tree, "/init", "init"));
    r.parts.push_back(measure(tree, "modules", "lib/modules"));
    for (const auto& b : bundles) r.parts.push_back(measure(tree, b.dir, b.dir));
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

std::string human_size(std::uint64_t n) {
    char buf[32];
    if (n >= (std::uint64_t(1) << 30)) std::snprintf(buf, sizeof buf, "%.1f GiB", double(n) / double(1 << 30));
    else if (n >= (1 << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", double(n) / double(1 << 20));
    else if (n >= (1 << 10)) std::snprintf(buf, sizeof buf, "%.1f KiB", double(n) / double(1 << 10));
    else std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
    return buf;
}

void print_summary(const BuildResult& r) {
    for (const auto& f : r.files) {
        if (f.what == "cmdline") {
            std::printf("%-8s %s\n", f.what.c_str(), f.path.c_str());
            continue;
        }
        std::string extra = f.what == "kernel" ? " (" + r.kernel_version + ")"
                            : f.raw_bytes && f.path == r.initrd_path
                                ? " (" + human_size(f.raw_bytes) + " uncompressed, " + std::to_string(r.initrd_entries) +
                                      " entries)"
                            : f.raw_bytes ? " (" + human_size(f.raw_bytes) + " uncompressed)"
                                          : "";
        std::printf("%-8s %-40s %10s%s\n", f.what.c_str(), f.path.c_str(), human_size(f.bytes).c_str(), extra.c_str());
    }
    for (const auto& p : r.parts)
        std::printf("  %-38s %10s in %zu files\n", p.what.c_str(), human_size(p.bytes).c_str(), p.files);
    if (!r.modules.empty() || !r.builtin_modules.empty()) {
        std::string mods;
        for (const auto& m : r.modules) mods += (mods.empty() ? "" : " ") + m;
        std::printf("  modules to load: %s\n", mods.empty() ? "(none)" : mods.c_str());
        if (!r.builtin_modules.empty()) {
            std::string b;
            for (const auto& m : r.builtin_modules) b += (b.empty() ? "" : " ") + m;
            std::printf("  built into the kernel: %s\n", b.c_str());
        }
    }
    if (!r.coldplug_modules.empty())
        std::printf("  modules shipped for the devices found at boot (modules: auto): %zu\n", r.coldplug_modules.size());
    std::printf("built in %.2f s\n", r.seconds);
}

}  // namespace berth::builder
