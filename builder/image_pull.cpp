#include "builder/image_pull.hpp"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "builder/arch.hpp"
#include "builder/process.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::builder {

namespace {

// Removes a temporary layout however the pull ends.
struct TempDir {
    std::string path;
    ~TempDir() {
        if (!path.empty()) run_process({"rm", "-rf", "--", path});
    }
};

// skopeo's own progress goes straight to a terminal; otherwise it is quiet and
// its messages are kept for the error.
bool interactive() { return ::isatty(STDOUT_FILENO) == 1; }

int run_inheriting(const std::vector<std::string>& argv) {
    std::fflush(stdout);
    std::fflush(stderr);
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        _exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) throw_errno("waitpid");
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

std::string skopeo(std::vector<std::string> argv, bool progress, const std::string& what) {
    argv.insert(argv.begin(), "skopeo");
    if (progress) {
        int rc = run_inheriting(argv);
        if (rc == 127) throw Error(what + ": cannot run skopeo (install the skopeo package)", ENOENT);
        if (rc != 0) throw Error(what + ": `" + quote_command(argv) + "` failed with exit status " + std::to_string(rc), EIO);
        return "";
    }
    ProcessResult r;
    try {
        r = run_process(argv);
    } catch (const Error& e) {
        throw Error(what + ": cannot run skopeo (install the skopeo package): " + e.what(), ENOENT);
    }
    if (r.exit_code != 0)
        throw Error(what + ": `" + quote_command(argv) + "` failed with exit status " + std::to_string(r.exit_code) +
                        ":\n" + fs::trim(r.err.empty() ? r.out : r.err),
                    EIO);
    return r.out;
}

void add_auth(std::vector<std::string>& argv, const RegistryOptions& opts) {
    if (!opts.authfile.empty()) argv.push_back("--authfile=" + opts.authfile);
}

}  // namespace

bool registry_is_insecure(const config::ImageReference& ref, const RegistryOptions& opts) {
    if (ref.loopback_registry()) return true;
    for (const auto& r : opts.insecure_registries)
        if (r == ref.registry) return true;
    return false;
}

StoreEntry pull_image(const config::ImageReference& ref, const RegistryOptions& opts, ImageStore& store,
                      const Platform& platform) {
    std::string what = "pull `" + ref.str() + "` for " + platform.os + "/" + platform.architecture;
    bool insecure = registry_is_insecure(ref, opts);
    std::vector<std::string> global = {"--override-os", platform.os, "--override-arch", platform.architecture};

    // 1. What the registry serves for the reference (a manifest or a manifest list).
    std::vector<std::string> inspect = global;
    inspect.insert(inspect.end(), {"inspect", "--raw", "--retry-times", "2"});
    if (insecure) inspect.push_back("--tls-verify=false");
    add_auth(inspect, opts);
    inspect.push_back("docker://" + ref.remote());
    std::string raw = skopeo(inspect, false, what);
    std::string digest = "sha256:" + sha256_hex(raw);
    if (!ref.digest.empty() && ref.digest != digest)
        throw Error(what + ": pinned to " + ref.digest + " but the registry serves " + digest, EINVAL);

    // Already there from the same registry digest for this platform: nothing to copy.
    if (auto old = store.find(ref); old && old->source_digest == digest) {
        try {
            open_oci_image(store.dir(), old->reference, platform, what);
            old->up_to_date = true;
            return *old;
        } catch (const Error&) {
            // another platform only, or damaged: pull
        }
    }

    // 2. Exactly that digest, for the platform, into a temporary layout.
    fs::mkdir_p(store.dir() + "/tmp");
    TempDir tmp;
    std::string tmpl = store.dir() + "/tmp/pull-XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw_errno(what + ": mkdtemp `" + tmpl + "`");
    tmp.path = tmpl;
    bool progress = interactive();
    std::vector<std::string> copy = global;
    copy.insert(copy.end(), {"copy", "--retry-times", "2"});
    if (!progress) copy.push_back("--quiet");
    if (insecure) copy.push_back("--src-tls-verify=false");
    add_auth(copy, opts);
    copy.push_back("docker://" + ref.name() + "@" + digest);
    copy.push_back("oci:" + tmp.path + "/layout:pulled");
    skopeo(copy, progress, what);
    // skopeo copies a single-platform image whatever its platform: a build for
    // `platform` could not use it, so it is refused here, naming both.
    open_oci_image(tmp.path + "/layout", "pulled", platform, what);

    // 3. Into the store (every blob is verified again on the way in).
    return store.add_pulled(tmp.path + "/layout", ref, digest, platform);
}

std::string push_image(const config::ImageReference& ref, const RegistryOptions& opts, ImageStore& store) {
    std::string what = "push `" + ref.str() + "`";
    auto e = store.find(ref);
    if (!e) throw Error(what + ": no such image in the store `" + store.dir() + "`", ENOENT);
    verify_digest_pin(ref, *e, what);
    if (ref.tag.empty()) throw Error(what + ": a push needs a tag to write", EINVAL);
    std::string digest_file = store.dir() + "/tmp/push-digest-" + std::to_string(::getpid());
    fs::mkdir_p(store.dir() + "/tmp");
    bool progress = interactive();
    // Every platform the store holds under the reference (an index is copied whole).
    std::vector<std::string> copy = {"copy", "--all", "--retry-times", "2", "--digestfile", digest_file};
    if (!progress) copy.push_back("--quiet");
    if (registry_is_insecure(ref, opts)) copy.push_back("--dest-tls-verify=false");
    add_auth(copy, opts);
    copy.push_back("oci:" + store.dir() + ":" + e->reference);
    copy.push_back("docker://" + ref.name() + ":" + ref.tag);
    skopeo(copy, progress, what);
    std::string digest = fs::trim(fs::try_read_file(digest_file).value_or(""));
    ::unlink(digest_file.c_str());
    return digest;
}

namespace {

const char* kTransferUsage =
    "usage:\n"
    "  berth image pull [--store DIR] [--arch amd64|arm64] [--insecure-registry HOST[:PORT]]...\n"
    "                   [--authfile FILE] REF...\n"
    "  berth image push [--store DIR] [--insecure-registry HOST[:PORT]]... [--authfile FILE] REF...\n"
    "      REF is [REGISTRY/]NAME[:TAG][@sha256:DIGEST]; docker.io when no registry is named.\n"
    "      localhost and loopback registries are reached without TLS verification.\n";

struct Usage : Error {
    using Error::Error;
};

}  // namespace

int image_transfer_command(const std::string& sub, const std::vector<std::string>& args) {
    try {
        RegistryOptions opts;
        std::string store_dir;
        Platform platform;
        platform.architecture = arch_name(host_arch());
        std::vector<std::string> refs;
        for (std::size_t i = 0; i < args.size(); ++i) {
            std::string a = args[i], value;
            bool has_value = false;
            if (a.rfind("--", 0) == 0 && a.find('=') != std::string::npos) {
                value = a.substr(a.find('=') + 1);
                a = a.substr(0, a.find('='));
                has_value = true;
            }
            auto next = [&]() -> std::string {
                if (has_value) return value;
                if (i + 1 >= args.size()) throw Usage(a + " needs a value");
                return args[++i];
            };
            if (a == "--help" || a == "-h") {
                std::fputs(kTransferUsage, stdout);
                return 0;
            } else if (a == "--store") store_dir = next();
            else if (a == "--arch" && sub == "pull") {
                std::string v = next();
                try {
                    platform.architecture = arch_name(parse_arch(v));
                } catch (const Error&) {
                    throw Usage("--arch `" + v + "`: expected amd64 or arm64");
                }
            }
            else if (a == "--insecure-registry") opts.insecure_registries.push_back(next());
            else if (a == "--authfile") opts.authfile = next();
            else if (a.size() > 1 && a[0] == '-') throw Usage("image " + sub + ": unknown option `" + a + "`");
            else refs.push_back(a);
        }
        if (refs.empty()) throw Usage("image " + sub + ": expected at least one REF");
        ImageStore store(store_dir.empty() ? default_store_dir() : store_dir);
        for (const auto& text : refs) {
            config::ImageReference ref = config::parse_image_reference(text);
            if (sub == "pull") {
                StoreEntry e = pull_image(ref, opts, store, platform);
                std::printf("%s %s %s/%s%s\n", e.reference.c_str(), e.source_digest.c_str(), platform.os.c_str(),
                            platform.architecture.c_str(), e.up_to_date ? " (already in the store)" : "");
            } else {
                std::string d = push_image(ref, opts, store);
                std::printf("%s %s\n", ref.str().c_str(), d.c_str());
            }
            std::fflush(stdout);
        }
        return 0;
    } catch (const Usage& e) {
        std::fprintf(stderr, "berth: %s\n%s", e.what(), kTransferUsage);
        return 2;
    }
}

}  // namespace berth::builder
