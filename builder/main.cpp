// berth: the host tool. `berth build` makes kernel + initrd from a YAML file,
// `berth run qemu` boots them.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "builder/image_assembler.hpp"
#include "builder/qemu_runner.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

#ifndef BERTH_SKEL_DIR
#define BERTH_SKEL_DIR ""
#endif

using namespace berth;
using namespace berth::builder;

namespace {

const char* kUsage =
    "usage:\n"
    "  berth build [-o OUTDIR] [--name NAME] [--images DIR]... [--init PATH] [--skel DIR]\n"
    "              [--kernel-cache DIR] FILE.yml\n"
    "      writes OUTDIR/NAME-kernel, OUTDIR/NAME-initrd.img and OUTDIR/NAME-cmdline\n"
    "  berth run qemu [--mem MB] [--cpus N] [--publish HOST:GUEST[/tcp|udp]]...\n"
    "                 [--accel auto|kvm|tcg] [--timeout SEC] [--append EXTRA]\n"
    "                 [--monitor SOCKET] PREFIX\n"
    "      boots PREFIX-kernel and PREFIX-initrd.img (PREFIX is OUTDIR/NAME)\n"
    "  berth --version\n";

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

// berth-init next to this executable; in a meson build tree it lives in ../init/.
std::string default_init() {
    std::string dir = self_dir();
    std::vector<std::string> tried = {fs::join(dir, "berth-init"), fs::join(dir, "../init/berth-init")};
    for (const auto& t : tried)
        if (fs::exists(t)) return t;
    throw Error("no init binary: `" + tried[0] + "` and `" + tried[1] +
                    "` do not exist; build the berth-init target or pass --init PATH",
                ENOENT);
}

int cmd_build(Args& a) {
    BuildOptions o;
    o.skel_dir = BERTH_SKEL_DIR;
    std::vector<std::string> files;
    while (!a.done()) {
        std::string opt = a.next_option();
        if (opt.empty()) files.push_back(a.positional());
        else if (opt == "-o" || opt == "--output" || opt == "--dir") o.out_dir = a.value(opt);
        else if (opt == "--name") o.name = a.value(opt);
        else if (opt == "--images") o.image_dirs.push_back(a.value(opt));
        else if (opt == "--init") o.init_binary = a.value(opt);
        else if (opt == "--skel") o.skel_dir = a.value(opt);
        else if (opt == "--kernel-cache") o.kernel_cache_dir = a.value(opt);
        else throw UsageError("build: unknown option `" + opt + "`");
    }
    if (files.size() != 1) throw UsageError("build: expected exactly one YAML file");
    o.yaml_file = files[0];
    if (o.init_binary.empty()) o.init_binary = default_init();
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
        else if (opt == "--mem" || opt == "-m") o.mem_mb = a.number(opt);
        else if (opt == "--cpus") o.cpus = a.number(opt);
        else if (opt == "--publish" || opt == "-p") o.publish.push_back(parse_publish(a.value(opt)));
        else if (opt == "--accel") o.accel = parse_accel_mode(a.value(opt));
        else if (opt == "--timeout") o.timeout_s = a.number(opt);
        else if (opt == "--append") o.append = a.value(opt);
        else if (opt == "--qemu") o.qemu = a.value(opt);
        else if (opt == "--monitor") o.monitor = a.value(opt);
        else throw UsageError("run qemu: unknown option `" + opt + "`");
    }
    if (prefixes.size() != 1) throw UsageError("run qemu: expected exactly one PREFIX (OUTDIR/NAME)");
    if (o.mem_mb < 64) throw UsageError("--mem: at least 64 MB");
    if (o.cpus < 1) throw UsageError("--cpus: at least 1");
    o.prefix = prefixes[0];
    return run_qemu(o);
}

}  // namespace

int main(int argc, char** argv) {
    log::init_clock();
    log::set_program("berth");
    try {
        if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
            !std::strcmp(argv[1], "help")) {
            std::fputs(kUsage, argc < 2 ? stderr : stdout);
            return argc < 2 ? 2 : 0;
        }
        std::string cmd = argv[1];
        if (cmd == "--version" || cmd == "version") {
            std::printf("berth %s\n", BERTH_VERSION);
            return 0;
        }
        if (cmd == "build") {
            Args a(argc, argv, 2);
            return cmd_build(a);
        }
        if (cmd == "run") {
            if (argc < 3 || std::strcmp(argv[2], "qemu") != 0)
                throw UsageError("run: the only target is `qemu` (berth run qemu PREFIX)");
            Args a(argc, argv, 3);
            return cmd_run_qemu(a);
        }
        throw UsageError("unknown command `" + cmd + "`");
    } catch (const UsageError& e) {
        std::fprintf(stderr, "berth: %s\n%s", e.what(), kUsage);
        return 2;
    } catch (const std::exception& e) {
        log::error("{}", e.what());
        return 1;
    }
}
