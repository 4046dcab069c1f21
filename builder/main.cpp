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
#include "builder/suggest.hpp"
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

// One usage text per command: `berth CMD --help` prints its own (synopsis and
// details), `berth --help` all; a usage error prints the message and the
// synopsis of the command it is about.
struct Usage {
    const char* synopsis;
    const char* details;
    const char* help;  // the command line that prints it all: "berth build --help"
};

const Usage kBuildUsage = {
    "  berth build [-o OUTDIR] [--name NAME] [--format FMT]... [--compress gzip|zstd]\n"
    "              [--update-key KEYFILE] [--update-binary PATH]\n"
    "              [--images DIR]... [--store DIR] [--init PATH] [--skel DIR]\n"
    "              [--kernel-cache DIR] [--defaults DIR] [--arch amd64|arm64]\n"
    "              [--pull [--insecure-registry HOST[:PORT]]... [--authfile FILE]]\n"
    "              [--sign-key KEY.pem --sign-cert CERT.pem]\n"
    "              [--dry-run] FILE.yml [MORE.yml]...\n",
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
    "      --dry-run: check the files (no images, no kernel) and the options the build\n"
    "           checks before it starts (formats for --arch, --update-key, --sign-key,\n"
    "           --sign-cert), reporting every error; `berth validate` checks the files\n",
    "berth build --help"};
const Usage kValidateUsage = {
    "  berth validate [--defaults DIR] [--arch amd64|arm64] FILE.yml [MORE.yml]...\n",
    "      checks the merged files without images or kernel downloads and prints\n"
    "      every error (file:line:column), in file order; exit status 1 if any;\n"
    "      --arch: check the output formats against it, as build does (default: the host's)\n",
    "berth validate --help"};
const Usage kRunUsage = {
    "  berth run qemu [--mem MB|SIZE] [--cpus N] [--publish HOST:GUEST[/tcp|udp]]...\n"
    "                 [--disk FILE[,size=SIZE]|file=FILE,size=SIZE]... [--accel auto|kvm|tcg]\n"
    "                 [--data STRING|--data-file FILE] [--timeout SEC]\n"
    "                 [--append EXTRA] [--monitor SOCKET] [--arch amd64|arm64]\n"
    "                 [--qemu PATH] [--firmware FILE|none] [--uefi [--secure-boot] [--efivars FILE]]\n"
    "                 PREFIX|PREFIX-squashfs.img|FILE.iso|DISK|NAME.efi\n",
    "      boots PREFIX-kernel and PREFIX-initrd.img (PREFIX is OUTDIR/NAME), the squashfs\n"
    "      root (attached as a read-only disk), a CD image, or a disk image (DISK:\n"
    "      PREFIX-bios.img, -efi.img, .raw, .qcow2, -efi.qcow2, .vhd, .img.tar.gz);\n"
    "      --uefi, FILE-efi.iso and the -efi disks boot through OVMF; NAME.efi (a UKI)\n"
    "      boots from a small ESP made for the run (with --append: as the firmware's\n"
    "      -kernel, EXTRA its load options), with NAME-squashfs.img attached if there;\n"
    "      --secure-boot: OVMF's Secure Boot build (q35 with SMM), its variables fresh\n"
    "      on every boot from --efivars FILE (default: Debian's snakeoil keys, Secure\n"
    "      Boot on; sign with /usr/share/ovmf/PkKek-1-snakeoil.key, passphrase snakeoil)\n",
    "berth run qemu --help"};
#define IMAGE_IMPORT "  berth image import [--store DIR] [--ref REF] DIR|FILE.tar REF\n"
#define IMAGE_LS "  berth image ls [--store DIR]\n"
#define IMAGE_RM "  berth image rm [--store DIR] REF...\n"
#define IMAGE_PULL                                                                            \
    "  berth image pull [--store DIR] [--arch amd64|arm64] [--insecure-registry HOST[:PORT]]...\n" \
    "                   [--authfile FILE] REF...\n"
#define IMAGE_PUSH "  berth image push [--store DIR] [--insecure-registry HOST[:PORT]]... [--authfile FILE] REF...\n"
#define IMAGE_DETAILS "      REF: [REGISTRY/]NAME[:TAG][@sha256:DIGEST]\n"
const char* kImageSubcommands = "import, ls, rm, pull or push";
const Usage kImageUsage = {IMAGE_IMPORT IMAGE_LS IMAGE_RM IMAGE_PULL IMAGE_PUSH, IMAGE_DETAILS, "berth image --help"};
const Usage kImageImportUsage = {IMAGE_IMPORT, IMAGE_DETAILS, "berth image --help"};
const Usage kImageLsUsage = {IMAGE_LS, "", ""};
const Usage kImageRmUsage = {IMAGE_RM, IMAGE_DETAILS, "berth image --help"};
const Usage kKernelUsage = {
    "  berth kernel import [--store DIR] [--kernel-cache DIR] [--arch amd64|arm64]\n"
    "                      [--layout DIR] [--modules M1,M2...] PACKAGE|FILE.deb|DIR --tag REF\n",
    "      a Debian kernel (what kernel.package takes) as a LinuxKit kernel image in the\n"
    "      store (or, with --layout, as an OCI layout directory), for `kernel: image: REF`;\n"
    "      --modules: loaded in every image built with it (what LinuxKit's kernels build in,\n"
    "      e.g. virtio_pci,virtio_net), besides the YAML's kernel.modules\n",
    "berth kernel --help"};
#undef IMAGE_IMPORT
#undef IMAGE_LS
#undef IMAGE_RM
#undef IMAGE_PULL
#undef IMAGE_PUSH
#undef IMAGE_DETAILS

std::string usage() {
    std::string u = "usage:\n";
    for (const Usage* c : {&kBuildUsage, &kValidateUsage, &kRunUsage, &kImageUsage, &kKernelUsage})
        u += std::string(c->synopsis) + c->details;
    return u + "  berth --version\n";
}

// `--help`/`-h` anywhere among a command's arguments.
bool wants_help(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--")) return false;
        if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) return true;
    }
    return false;
}

int print_help(const Usage& u) {
    std::printf("usage:\n%s%s", u.synopsis, u.details);
    return 0;
}

// The command a usage error is about: main sets it before it runs one, a
// command with subcommands narrows it; none: the command itself is wrong.
const Usage* current_usage = nullptr;

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
    // A whole number of at least `min`; `what` says what is expected ("a number of CPUs").
    unsigned number(const std::string& opt, const char* what, unsigned min) {
        std::string v = value(opt);
        if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos ||
            std::stoul(v) < min)
            throw UsageError(opt + " `" + v + "`: expected " + what + ", at least " + std::to_string(min));
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
    } catch (const Error&) {
        throw UsageError(opt + " `" + v + "`: expected amd64 or arm64");
    }
}

// An option's value read by a parser that throws Error: a usage error, its
// message naming the option and the value.
template <class F>
auto option_value(F&& parse) -> decltype(parse()) {
    try {
        return parse();
    } catch (const UsageError&) {
        throw;
    } catch (const Error& e) {
        throw UsageError(e.what());
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

// Every problem of the merged files, one line each, in file order, then those of
// the build's options (`build`: its options, key_options: the ones only a build takes).
int run_validate(const std::vector<std::string>& files, const BuildOptions& build, bool key_options) {
    ValidateOptions v;
    v.files = files;
    v.build = build;
    v.key_options = key_options;
    // berth's security defaults take part in the checks when they can be read;
    // the image description is valid or not without them.
    try {
        v.security = load_security_defaults(build.defaults_dir.empty() ? oci::defaults_dir() : build.defaults_dir);
    } catch (const std::exception&) {
        if (!build.defaults_dir.empty()) throw;
    }
    std::vector<std::string> option_problems;
    std::vector<YamlError> problems = validate_image(v, &option_problems);
    for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.what());
    for (const auto& p : option_problems) std::fprintf(stderr, "berth: %s\n", p.c_str());
    if (std::size_t n = problems.size() + option_problems.size()) {
        std::fprintf(stderr, "berth: %zu error%s\n", n, n == 1 ? "" : "s");
        return 1;
    }
    std::printf("%s: valid\n", files.size() == 1 ? files[0].c_str() : (std::to_string(files.size()) + " files").c_str());
    return 0;
}

int cmd_validate(Args& a) {
    std::vector<std::string> files;
    BuildOptions o;
    while (!a.done()) {
        std::string opt = a.next_option();
        if (opt.empty()) files.push_back(a.positional());
        else if (opt == "--defaults") o.defaults_dir = a.value(opt);
        else if (opt == "--arch") o.arch = arch_name(arch_option(a, opt));
        else throw UsageError("validate: unknown option `" + opt + "`");
    }
    if (files.empty()) throw UsageError("validate: expected a YAML file (or several, merged in order)");
    return run_validate(files, o, false);
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
        else if (opt == "--images") {
            // A typo here would only show as "image not found" for every image.
            std::string dir = a.value(opt);
            if (!fs::is_dir(dir)) log::warn("--images `{}`: not a directory (nothing is found there)", dir);
            o.image_dirs.push_back(dir);
        }
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
                std::string hint;
                if (auto best = closest_match(f, output_formats())) hint = "; did you mean `" + *best + "`?";
                throw UsageError(opt + ": unknown format `" + f + "`" + hint + " (known: " + known + ")");
            }
            o.formats.push_back(f);
        } else if (opt == "--update-key") {
            o.update_key_file = a.value(opt);
        } else if (opt == "--update-binary") {
            o.update_binary = a.value(opt);
        } else if (opt == "--compress") {
            o.compression = a.value(opt);
            if (o.compression != "gzip" && o.compression != "zstd")
                throw UsageError("--compress `" + o.compression + "`: expected gzip or zstd");
        } else throw UsageError("build: unknown option `" + opt + "`");
    }
    if (files.empty()) throw UsageError("build: expected a YAML file (or several, merged in order)");
    if (dry_run) return run_validate(files, o, true);
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
        else if (opt == "--mem" || opt == "-m") {
            std::string v = a.value(opt);
            o.mem_mb = option_value([&] { return parse_memory_mb(v); });
            if (o.mem_mb < 64) throw UsageError(opt + " `" + v + "`: expected at least 64 MiB");
        }
        else if (opt == "--data") o.data = a.value(opt);
        else if (opt == "--data-file") o.data_file = a.value(opt);
        else if (opt == "--cpus") o.cpus = a.number(opt, "a number of CPUs", 1);
        else if (opt == "--publish" || opt == "-p") {
            std::string v = a.value(opt);
            o.publish.push_back(option_value([&] { return parse_publish(v); }));
        }
        else if (opt == "--accel") {
            std::string v = a.value(opt);
            o.accel = option_value([&] { return parse_accel_mode(v); });
        }
        else if (opt == "--timeout") o.timeout_s = a.number(opt, "a number of seconds", 1);
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
        else if (opt == "--disk") {
            std::string v = a.value(opt);
            o.disks.push_back(option_value([&] { return parse_disk(v); }));
        }
        else if (opt == "--arch") o.arch = arch_option(a, opt);
        else throw UsageError("run qemu: unknown option `" + opt + "`");
    }
    if (prefixes.size() != 1) {
        std::string got;
        for (const auto& p : prefixes) got += " `" + p + "`";
        throw UsageError("run qemu: expected one PREFIX (OUTDIR/NAME), FILE.iso, disk image or NAME.efi, got " +
                         (prefixes.empty() ? std::string("none") : std::to_string(prefixes.size()) + ":" + got));
    }
    if (o.data && !o.data_file.empty()) throw UsageError("run qemu: give only one of --data and --data-file");
    set_boot_file(o, prefixes[0]);
    return run_qemu(o);
}

int cmd_image(int argc, char** argv) {
    current_usage = &kImageUsage;
    if (wants_help(argc, argv, 2)) return print_help(kImageUsage);
    if (argc < 3) throw UsageError(std::string("image: expected a subcommand: ") + kImageSubcommands);
    std::string sub = argv[2];
    if (sub == "pull" || sub == "push") return image_transfer_command(sub, std::vector<std::string>(argv + 3, argv + argc));
    if (sub == "import") current_usage = &kImageImportUsage;
    else if (sub == "ls") current_usage = &kImageLsUsage;
    else if (sub == "rm") current_usage = &kImageRmUsage;
    else throw UsageError("image: unknown subcommand `" + sub + "` (" + kImageSubcommands + ")");
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
    if (sub == "import" && pos.size() != 2) throw UsageError("image import: expected DIR|FILE.tar REF");
    if (sub == "ls" && !pos.empty()) throw UsageError("image ls: takes no arguments, got `" + pos[0] + "`");
    if (sub == "rm" && pos.empty()) throw UsageError("image rm: expected REF...");
    ImageStore st(store.empty() ? default_store_dir() : store);
    if (sub == "import") {
        StoreEntry e = st.import(pos[0], pos[1], ref);
        std::printf("%s %s %s\n", e.reference.c_str(), e.descriptor.digest.substr(7, 12).c_str(),
                    human_size(e.bytes).c_str());
        return 0;
    }
    if (sub == "ls") {
        std::printf("%-40s %-12s %10s\n", "REFERENCE", "DIGEST", "SIZE");
        for (const auto& e : st.list())
            std::printf("%-40s %-12s %10s\n", e.reference.c_str(), e.descriptor.digest.substr(7, 12).c_str(),
                        human_size(e.bytes).c_str());
        return 0;
    }
    int rc = 0;
    for (const auto& r : pos)
        if (!st.remove(r)) {
            log::error("image rm: no image `{}` in {}", normalise_reference(r), st.dir());
            rc = 1;
        }
    return rc;
}

int cmd_kernel(int argc, char** argv) {
    if (argc < 3) throw UsageError("kernel: expected a subcommand: import");
    if (std::strcmp(argv[2], "import") != 0)
        throw UsageError(std::string("kernel: unknown subcommand `") + argv[2] + "` (import)");
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
    if (pos.size() != 1) throw UsageError("kernel import: expected one PACKAGE|FILE.deb|DIR");
    if (tag.empty()) throw UsageError("kernel import: expected --tag REF, the reference to store it as");
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

// A usage error: the message, then the synopsis of the command it is about.
int usage_error(const std::string& message) {
    std::fprintf(stderr, "berth: %s\n", message.c_str());
    if (!current_usage) {
        std::fputs("run `berth --help` for the commands and their options\n", stderr);
        return 2;
    }
    std::fprintf(stderr, "usage:\n%s", current_usage->synopsis);
    if (*current_usage->details) std::fprintf(stderr, "(`%s` says more)\n", current_usage->help);
    return 2;
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
            current_usage = &kBuildUsage;
            if (wants_help(argc, argv, 2)) return print_help(kBuildUsage);
            Args a(argc, argv, 2);
            return cmd_build(a);
        }
        if (cmd == "validate") {
            current_usage = &kValidateUsage;
            if (wants_help(argc, argv, 2)) return print_help(kValidateUsage);
            Args a(argc, argv, 2);
            return cmd_validate(a);
        }
        if (cmd == "image") return cmd_image(argc, argv);
        if (cmd == "kernel") {
            current_usage = &kKernelUsage;
            if (wants_help(argc, argv, 2)) return print_help(kKernelUsage);
            return cmd_kernel(argc, argv);
        }
        if (cmd == "run") {
            current_usage = &kRunUsage;
            if (wants_help(argc, argv, 2)) return print_help(kRunUsage);
            if (argc < 3 || std::strcmp(argv[2], "qemu") != 0)
                throw UsageError("run: the only target is `qemu` (berth run qemu PREFIX)");
            Args a(argc, argv, 3);
            return cmd_run_qemu(a);
        }
        throw UsageError("unknown command `" + cmd + "` (build, validate, run qemu, image, kernel, help)");
    } catch (const UsageError& e) {
        return usage_error(e.what());
    } catch (const std::exception& e) {
        log::error("{}", e.what());
        return 1;
    }
}
