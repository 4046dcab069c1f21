// berth: the host tool. `berth build` makes kernel + initrd from a YAML file,
// `berth run qemu` boots them.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "builder/bundle.hpp"
#include "builder/image_assembler.hpp"
#include "builder/image_pull.hpp"
#include "builder/image_store.hpp"
#include "builder/kernel_image.hpp"
#include "builder/qemu_runner.hpp"
#include "builder/validate.hpp"
#include "config/oci_defaults.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

#ifndef BERTH_SKEL_DIR
#define BERTH_SKEL_DIR ""
#endif

using namespace berth;
using namespace berth::builder;

namespace {

// One usage text per command: `berth CMD --help` prints its own, `berth --help` all.
const char* kBuildUsage =
    "  berth build [-o OUTDIR] [--name NAME] [--format FMT]... [--compress gzip|zstd]\n"
    "              [--update-key KEYFILE] [--update-binary PATH]\n"
    "              [--images DIR]... [--store DIR] [--init PATH] [--skel DIR]\n"
    "              [--kernel-cache DIR] [--defaults DIR] [--arch amd64|arm64]\n"
    "              [--pull [--insecure-registry HOST[:PORT]]... [--authfile FILE]]\n"
    "              [--sign-key KEY.pem --sign-cert CERT.pem]\n"
    "              [--dry-run] FILE.yml [MORE.yml]...\n"
    "      several files are merged in order (later ones append containers, files,\n"
    "      volumes and init images; kernel keys and outputs they give replace earlier\n"
    "      ones); NAME defaults to the first file's name\n"
    "      FMT: kernel+initrd (default: OUTDIR/NAME-kernel, -initrd.img, -cmdline),\n"
    "           kernel+squashfs (OUTDIR/NAME-squashfs.img, -squashfs-initrd.img),\n"
    "           tar (OUTDIR/NAME.tar), iso-bios (OUTDIR/NAME.iso),\n"
    "           disk images that boot under BIOS and UEFI: raw-bios (NAME-bios.img),\n"
    "           raw-efi (NAME-efi.img), aws (NAME.raw), qcow2-bios (NAME.qcow2),\n"
    "           qcow2-efi (NAME-efi.qcow2), vhd (NAME.vhd, fixed), gcp (NAME.img.tar.gz),\n"
    "           iso-efi (NAME-efi.iso); raw-efi-ab (NAME-ab-efi.img: A/B root slots with\n"
    "           boot counting, and NAME-update.bundle; needs the YAML's update: key\n"
    "           and --update-key KEYFILE, 64 hex digits of an Ed25519 seed; the image\n"
    "           carries berth-update, from next to the init binary or --update-binary),\n"
    "           uki (NAME.efi: a unified kernel image, systemd-boot's stub with the\n"
    "           kernel, initrd and command line; it boots the kernel+squashfs root,\n"
    "           verified or not, when the build writes that too)\n"
    "      --sign-key/--sign-cert: sign the uki, or raw-efi-ab's UKIs and systemd-boot,\n"
    "           for Secure Boot with sbsign (PEM, the key not encrypted); sbverify\n"
    "           checks the result\n"
    "      --pull: images found nowhere are pulled from their registry into the store\n"
    "      --dry-run: check the files only (no images, no kernel), reporting every\n"
    "           error; the same as `berth validate`\n";
const char* kValidateUsage =
    "  berth validate [--defaults DIR] FILE.yml [MORE.yml]...\n"
    "      checks the merged files without images or kernel downloads and prints\n"
    "      every error (file:line:column), in file order; exit status 1 if any\n";
const char* kRunUsage =
    "  berth run qemu [--mem MB|SIZE] [--cpus N] [--publish HOST:GUEST[/tcp|udp]]...\n"
    "                 [--disk FILE[,size=SIZE]|file=FILE,size=SIZE]... [--accel auto|kvm|tcg]\n"
    "                 [--data STRING|--data-file FILE] [--timeout SEC]\n"
    "                 [--append EXTRA] [--monitor SOCKET] [--arch amd64|arm64]\n"
    "                 [--qemu PATH] [--firmware FILE|none]\n"
    "                 [--uefi [--secure-boot] [--efivars FILE]]\n"
    "                 PREFIX|PREFIX-squashfs.img|FILE.iso|DISK|NAME.efi\n"
    "      boots PREFIX-kernel and PREFIX-initrd.img (PREFIX is OUTDIR/NAME), the squashfs\n"
    "      root (attached as a read-only disk), a CD image, or a disk image (DISK:\n"
    "      PREFIX-bios.img, -efi.img, .raw, .qcow2, -efi.qcow2, .vhd, .img.tar.gz);\n"
    "      --uefi, FILE-efi.iso and the -efi disks boot through OVMF; NAME.efi (a UKI)\n"
    "      boots from a small ESP made for the run (with --append: as the firmware's\n"
    "      -kernel, EXTRA its load options), with NAME-squashfs.img attached if there;\n"
    "      --secure-boot: OVMF's Secure Boot build (q35 with SMM), its variables fresh\n"
    "      on every boot from --efivars FILE (default: Debian's snakeoil keys, Secure\n"
    "      Boot on; sign with /usr/share/ovmf/PkKek-1-snakeoil.key, passphrase snakeoil)\n";
const char* kImageUsage =
    "  berth image import [--store DIR] [--ref REF] DIR|FILE.tar REF\n"
    "  berth image ls [--store DIR]\n"
    "  berth image rm [--store DIR] REF...\n"
    "  berth image pull|push [--store DIR] [--arch A] [--insecure-registry HOST[:PORT]]...\n"
    "                   [--authfile FILE] REF...   (REF: [REGISTRY/]NAME[:TAG][@sha256:DIGEST])\n";
const char* kKernelUsage =
    "  berth kernel import [--store DIR] [--kernel-cache DIR] [--arch amd64|arm64]\n"
    "                      [--layout DIR] [--modules M1,M2...] PACKAGE|FILE.deb|DIR --tag REF\n"
    "      a Debian kernel (what kernel.package takes) as a LinuxKit kernel image in the\n"
    "      store (or, with --layout, as an OCI layout directory), for `kernel: image: REF`;\n"
    "      --modules: loaded in every image built with it (what LinuxKit's kernels build in,\n"
    "      e.g. virtio_pci,virtio_net), besides the YAML's kernel.modules\n";

std::string usage() {
    return std::string("usage:\n") + kBuildUsage + kValidateUsage + kRunUsage + kImageUsage + kKernelUsage +
           "  berth --version\n";
}

// `--help`/`-h` anywhere among a command's arguments.
bool wants_help(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--")) return false;
        if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) return true;
    }
    return false;
}

int print_help(const char* text) {
    std::fputs("usage:\n", stdout);
    std::fputs(text, stdout);
    return 0;
}

struct UsageError : Error {
    using Error::Error;
};

// Minimal option scanner: "--opt value", "--opt=value", "-o value"; "--" ends options.
class Args {
public:
    Args(int argc, char** argv, int first) {
        for (int i = first; i < argc; ++i) args_.emplace_back(argv[i]);
    }
    bool done() const { return i_ >= args_.size(); }
    // The next option name, or "" if the next argument is a positional one.
    std::string next_option() {
        const std::string& a = args_[i_];
        if (a == "--") {
            ++i_;
            only_positional_ = true;
            return "";
        }
        if (only_positional_ || a.size() < 2 || a[0] != '-') return "";
        ++i_;
        if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
            pending_ = a.substr(eq + 1);
            return a.substr(0, eq);
        }
        return a;
    }
    std::string value(const std::string& opt) {
        if (pending_) {
            std::string v = *pending_;
            pending_.reset();
            return v;
        }
        if (done()) throw UsageError(opt + " needs a value");
        return args_[i_++];
    }
    unsigned number(const std::string& opt) {
        std::string v = value(opt);
        if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos)
            throw UsageError(opt + ": expected a number, got `" + v + "`");
        return unsigned(std::stoul(v));
    }
    std::string positional() { return args_[i_++]; }
    void no_pending(const std::string& opt) {
        if (pending_) throw UsageError(opt + " takes no value");
    }

private:
    std::vector<std::string> args_;
    std::size_t i_ = 0;
    bool only_positional_ = false;
    std::optional<std::string> pending_;
};

std::string self_dir() {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return ".";
    std::string p(buf, size_t(n));
    return p.substr(0, p.rfind('/'));
}

Arch arch_option(Args& a, const std::string& opt) {
    std::string v = a.value(opt);
    try {
        return parse_arch(v);
    } catch (const Error& e) {
        throw UsageError(opt + ": " + e.what());
    }
}

// berth-init next to this executable; in a meson build tree it lives in ../init/.
// For another architecture: berth-init-ARCH next to it, or the cross build tree
// made next to this one (build -> build-arm64, see `make arm64`).
std::string default_init(Arch arch) {
    std::string dir = self_dir();
    std::vector<std::string> tried;
    if (arch == host_arch()) {
        tried = {fs::join(dir, "berth-init"), fs::join(dir, "../init/berth-init")};
    } else {
        std::string build_root = dir.substr(0, dir.rfind('/'));
        tried = {fs::join(dir, std::string("berth-init-") + arch_name(arch)),
                 build_root + "-" + arch_name(arch) + "/init/berth-init"};
    }
    for (const auto& t : tried)
        if (fs::exists(t)) return t;
    throw Error("no " + std::string(arch_name(arch)) + " init binary: `" + tried[0] + "` and `" + tried[1] +
                    "` do not exist; build the berth-init target" +
                    (arch == host_arch() ? "" : " with the cross file (make arm64)") + " or pass --init PATH",
                ENOENT);
}

// Every problem of the merged files, one line each, in file order.
int run_validate(const std::vector<std::string>& files, const std::string& defaults_dir) {
    ValidateOptions v;
    v.files = files;
    // berth's security defaults take part in the checks when they can be read;
    // the image description is valid or not without them.
    try {
        v.security = load_security_defaults(defaults_dir.empty() ? oci::defaults_dir() : defaults_dir);
    } catch (const std::exception&) {
        if (!defaults_dir.empty()) throw;
    }
    std::vector<YamlError> problems = validate_image(v);
    for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.what());
    if (!problems.empty()) {
        std::fprintf(stderr, "berth: %zu error%s\n", problems.size(), problems.size() == 1 ? "" : "s");
        return 1;
    }
    std::printf("%s: valid\n", files.size() == 1 ? files[0].c_str() : (std::to_string(files.size()) + " files").c_str());
    return 0;
}

int cmd_validate(Args& a) {
    std::vector<std::string> files;
    std::string defaults_dir;
    while (!a.done()) {
        std::string opt = a.next_option();
        if (opt.empty()) files.push_back(a.positional());
        else if (opt == "--defaults") defaults_dir = a.value(opt);
        else throw UsageError("validate: unknown option `" + opt + "`");
    }
    if (files.empty()) throw UsageError("validate: expected a YAML file (or several, merged in order)");
    return run_validate(files, defaults_dir);
}

int cmd_build(Args& a) {
    BuildOptions o;
    o.skel_dir = BERTH_SKEL_DIR;
    std::vector<std::string> files;
    bool dry_run = false;
    while (!a.done()) {
        std::string opt = a.next_option();
        if (opt.empty()) files.push_back(a.positional());
        else if (opt == "--dry-run" || opt == "-n") {
            a.no_pending(opt);
            dry_run = true;
        }
        else if (opt == "-o" || opt == "--output" || opt == "--dir") o.out_dir = a.value(opt);
        else if (opt == "--name") o.name = a.value(opt);
        else if (opt == "--images") o.image_dirs.push_back(a.value(opt));
        else if (opt == "--init") o.init_binary = a.value(opt);
        else if (opt == "--skel") o.skel_dir = a.value(opt);
        else if (opt == "--kernel-cache") o.kernel_cache_dir = a.value(opt);
        else if (opt == "--store") o.store_dir = a.value(opt);
        else if (opt == "--defaults") o.defaults_dir = a.value(opt);
        else if (opt == "--arch") o.arch = arch_name(arch_option(a, opt));
        else if (opt == "--pull") {
            a.no_pending(opt);
            o.pull = true;
        } else if (opt == "--insecure-registry") o.registry.insecure_registries.push_back(a.value(opt));
        else if (opt == "--authfile") o.registry.authfile = a.value(opt);
        else if (opt == "--sign-key") o.signing_key = a.value(opt);
        else if (opt == "--sign-cert") o.signing_cert = a.value(opt);
        else if (opt == "--format" || opt == "-f") {
            std::string f = a.value(opt);
            if (!is_output_format(f)) {
                std::string known;
                for (const auto& k : output_formats()) known += (known.empty() ? "" : ", ") + k;
                throw UsageError("--format: unknown format `" + f + "` (" + known + ")");
            }
            o.formats.push_back(f);
        } else if (opt == "--update-key") {
            o.update_key_file = a.value(opt);
        } else if (opt == "--update-binary") {
            o.update_binary = a.value(opt);
        } else if (opt == "--compress") {
            o.compression = a.value(opt);
            if (o.compression != "gzip" && o.compression != "zstd") throw UsageError("--compress: gzip or zstd");
        } else throw UsageError("build: unknown option `" + opt + "`");
    }
    if (files.empty()) throw UsageError("build: expected a YAML file (or several, merged in order)");
    if (dry_run) return run_validate(files, o.defaults_dir);
    o.yaml_file = files[0];
    o.more_yaml_files.assign(files.begin() + 1, files.end());
    if (o.init_binary.empty()) o.init_binary = default_init(o.arch.empty() ? host_arch() : parse_arch(o.arch));
    BuildResult r = build_image(o);
    print_summary(r);
    return 0;
}

int cmd_run_qemu(Args& a) {
    QemuOptions o;
    std::vector<std::string> prefixes;
    while (!a.done()) {
        std::string opt = a.next_option();
        if (opt.empty()) prefixes.push_back(a.positional());
        else if (opt == "--mem" || opt == "-m") o.mem_mb = parse_memory_mb(a.value(opt));
        else if (opt == "--data") o.data = a.value(opt);
        else if (opt == "--data-file") o.data_file = a.value(opt);
        else if (opt == "--cpus") o.cpus = a.number(opt);
        else if (opt == "--publish" || opt == "-p") o.publish.push_back(parse_publish(a.value(opt)));
        else if (opt == "--accel") o.accel = parse_accel_mode(a.value(opt));
        else if (opt == "--timeout") o.timeout_s = a.number(opt);
        else if (opt == "--append") o.append = a.value(opt);
        else if (opt == "--qemu") o.qemu = a.value(opt);
        else if (opt == "--monitor") o.monitor = a.value(opt);
        else if (opt == "--firmware") o.firmware = a.value(opt);
        else if (opt == "--uefi") {
            a.no_pending(opt);
            o.uefi = true;
        } else if (opt == "--secure-boot") {
            a.no_pending(opt);
            o.secure_boot = true;
        } else if (opt == "--efivars") o.efivars_template = a.value(opt);
        else if (opt == "--disk") o.disks.push_back(parse_disk(a.value(opt)));
        else if (opt == "--arch") o.arch = arch_option(a, opt);
        else throw UsageError("run qemu: unknown option `" + opt + "`");
    }
    if (prefixes.size() != 1) throw UsageError("run qemu: expected exactly one PREFIX (OUTDIR/NAME) or FILE.iso");
    set_boot_file(o, prefixes[0]);
    if (o.mem_mb < 64) throw UsageError("--mem: at least 64 MB");
    if (o.cpus < 1) throw UsageError("--cpus: at least 1");
    return run_qemu(o);
}

int cmd_image(int argc, char** argv) {
    if (argc < 3) throw UsageError("image: expected import, ls or rm");
    if (wants_help(argc, argv, 2)) return print_help(kImageUsage);
    std::string sub = argv[2];
    if (sub == "pull" || sub == "push") return image_transfer_command(sub, std::vector<std::string>(argv + 3, argv + argc));
    Args a(argc, argv, 3);
    std::string store, ref;
    std::vector<std::string> pos;
    while (!a.done()) {
        std::string opt = a.next_option();
        if (opt.empty()) pos.push_back(a.positional());
        else if (opt == "--store") store = a.value(opt);
        else if (opt == "--ref" && sub == "import") ref = a.value(opt);
        else throw UsageError("image " + sub + ": unknown option `" + opt + "`");
    }
    ImageStore st(store.empty() ? default_store_dir() : store);
    if (sub == "import") {
        if (pos.size() != 2) throw UsageError("image import: expected DIR|FILE.tar REF");
        StoreEntry e = st.import(pos[0], pos[1], ref);
        std::printf("%s %s %s\n", e.reference.c_str(), e.descriptor.digest.substr(7, 12).c_str(),
                    human_size(e.bytes).c_str());
        return 0;
    }
    if (sub == "ls") {
        if (!pos.empty()) throw UsageError("image ls takes no arguments");
        std::printf("%-40s %-12s %10s\n", "REFERENCE", "DIGEST", "SIZE");
        for (const auto& e : st.list())
            std::printf("%-40s %-12s %10s\n", e.reference.c_str(), e.descriptor.digest.substr(7, 12).c_str(),
                        human_size(e.bytes).c_str());
        return 0;
    }
    if (sub == "rm") {
        if (pos.empty()) throw UsageError("image rm: expected NAME[:TAG]...");
        int rc = 0;
        for (const auto& r : pos)
            if (!st.remove(r)) {
                log::error("image rm: no image `{}` in {}", normalise_reference(r), st.dir());
                rc = 1;
            }
        return rc;
    }
    throw UsageError("image: unknown subcommand `" + sub + "` (import, ls, rm, pull, push)");
}

int cmd_kernel(int argc, char** argv) {
    if (argc < 3 || std::strcmp(argv[2], "import") != 0) throw UsageError("kernel: expected import");
    Args a(argc, argv, 3);
    std::string store, cache, tag, layout;
    std::vector<std::string> modules;
    Arch arch = host_arch();
    std::vector<std::string> pos;
    while (!a.done()) {
        std::string opt = a.next_option();
        if (opt.empty()) pos.push_back(a.positional());
        else if (opt == "--store") store = a.value(opt);
        else if (opt == "--kernel-cache") cache = a.value(opt);
        else if (opt == "--tag" || opt == "-t") tag = a.value(opt);
        else if (opt == "--layout") layout = a.value(opt);
        else if (opt == "--arch") arch = arch_option(a, opt);
        else if (opt == "--modules") {
            std::string list = a.value(opt);
            for (std::size_t at = 0; at <= list.size();) {
                std::size_t comma = std::min(list.find(',', at), list.size());
                if (comma > at) modules.push_back(list.substr(at, comma - at));
                at = comma + 1;
            }
        }
        else throw UsageError("kernel import: unknown option `" + opt + "`");
    }
    if (pos.size() != 1 || tag.empty())
        throw UsageError("kernel import: expected PACKAGE|FILE.deb|DIR and --tag NAME[:TAG]");
    if (cache.empty()) cache = default_kernel_cache_dir();
    if (!layout.empty()) {
        std::string version = export_kernel_layout(pos[0], tag, layout, cache, arch, modules);
        std::printf("%s %s in %s\n", normalise_reference(tag).c_str(), version.c_str(), layout.c_str());
        return 0;
    }
    StoreEntry e = import_kernel_image(pos[0], tag, store.empty() ? default_store_dir() : store,
                                       cache, arch, modules);
    std::printf("%s %s %s\n", e.reference.c_str(), e.descriptor.digest.substr(7, 12).c_str(),
                human_size(e.bytes).c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    log::init_clock();
    log::set_program("berth");
    try {
        if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
            !std::strcmp(argv[1], "help")) {
            std::fputs(usage().c_str(), argc < 2 ? stderr : stdout);
            return argc < 2 ? 2 : 0;
        }
        std::string cmd = argv[1];
        if (cmd == "--version" || cmd == "version") {
            std::printf("berth %s\n", BERTH_VERSION);
            return 0;
        }
        if (cmd == "build") {
            if (wants_help(argc, argv, 2)) return print_help(kBuildUsage);
            Args a(argc, argv, 2);
            return cmd_build(a);
        }
        if (cmd == "validate") {
            if (wants_help(argc, argv, 2)) return print_help(kValidateUsage);
            Args a(argc, argv, 2);
            return cmd_validate(a);
        }
        if (cmd == "image") return cmd_image(argc, argv);
        if (cmd == "kernel") {
            if (wants_help(argc, argv, 2)) return print_help(kKernelUsage);
            return cmd_kernel(argc, argv);
        }
        if (cmd == "run") {
            if (wants_help(argc, argv, 2)) return print_help(kRunUsage);
            if (argc < 3 || std::strcmp(argv[2], "qemu") != 0)
                throw UsageError("run: the only target is `qemu` (berth run qemu PREFIX)");
            Args a(argc, argv, 3);
            return cmd_run_qemu(a);
        }
        throw UsageError("unknown command `" + cmd + "`");
    } catch (const UsageError& e) {
        std::fprintf(stderr, "berth: %s\n%s", e.what(), usage().c_str());
        return 2;
    } catch (const std::exception& e) {
        log::error("{}", e.what());
        return 1;
    }
}
