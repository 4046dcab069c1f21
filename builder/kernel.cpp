#include "builder/kernel.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <algorithm>
#include <cstdlib>
#include <utility>

#include "builder/process.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace berth::builder {

namespace {

constexpr const char* kStamp = ".berth-extracted";

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string resolve_path(const std::string& p, const std::string& base) {
    if (!p.empty() && p[0] == '/') return p;
    return fs::join(base.empty() ? "." : base, p);
}

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t j = s.find('\n', i);
        if (j == std::string::npos) j = s.size();
        out.push_back(s.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

// apt-cache with one `apt-get update` retry when apt knows nothing about the package
// (a fresh container has no package lists).
ProcessResult apt_cache(const std::vector<std::string>& args) {
    static bool updated = false;
    std::vector<std::string> argv = {"apt-cache"};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessResult r = run_process(argv);
    bool unknown = r.exit_code != 0 || fs::trim(r.out).empty();
    if (unknown && !updated) {
        updated = true;
        log::info("apt has no information about `{}`; running apt-get update", args.back());
        run_checked({"apt-get", "update"});
        r = run_process(argv);
    }
    return r;
}

bool is_versioned_image_package(const std::string& name) {
    // linux-image-6.1.0-57-cloud-amd64 (a version digit right after the prefix)
    const std::string prefix = "linux-image-";
    return name.rfind(prefix, 0) == 0 && name.size() > prefix.size() &&
           std::isdigit(static_cast<unsigned char>(name[prefix.size()]));
}

struct AptPackage {
    std::string name;
    std::string version;
    std::vector<std::pair<std::string, std::string>> depends;  // (name, exact version or "")
};

// `apt-cache show --no-all-versions NAME`: the candidate's version and dependencies.
AptPackage apt_show(const std::string& name, Arch arch) {
    std::string query = arch == host_arch() ? name : name + ":" + arch_name(arch);
    ProcessResult r = apt_cache({"show", "--no-all-versions", query});
    AptPackage p;
    p.name = name;
    for (const auto& l : lines(r.out)) {
        if (l.rfind("Version: ", 0) == 0) p.version = fs::trim(l.substr(9));
        if (l.rfind("Depends: ", 0) != 0) continue;
        std::string deps = l.substr(9);
        std::size_t i = 0;
        while (i <= deps.size()) {
            std::size_t j = deps.find_first_of(",|", i);
            if (j == std::string::npos) j = deps.size();
            std::string d = fs::trim(deps.substr(i, j - i));
            std::string dep_name = d.substr(0, d.find_first_of(" (:"));
            std::string exact;
            if (auto eq = d.find("(= "); eq != std::string::npos)
                exact = fs::trim(d.substr(eq + 3, d.find(')', eq) - eq - 3));
            if (!dep_name.empty()) p.depends.emplace_back(dep_name, exact);
            i = j + 1;
        }
    }
    if (p.version.empty())
        throw Error("apt does not know the package `" + query + "`" +
                        (r.err.empty() ? "" : ": " + fs::trim(r.err)) +
                        (arch == host_arch() ? ""
                                             : std::string(" (is the architecture enabled? dpkg --add-architecture ") +
                                                   arch_name(arch) + " && apt-get update)"),
                    ENOENT);
    return p;
}

std::string safe_name(std::string s) {
    for (char& c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == '+'))
            c = '_';
    return s;
}

// Extracts `deb` into `dest` unless that was already done (stamp file present).
void extract_deb(const std::string& deb, const std::string& dest, const std::string& stamp_text) {
    std::string stamp = fs::join(dest, kStamp);
    if (auto s = fs::try_read_file(stamp); s && *s == stamp_text) return;
    std::string tmp = dest + ".tmp-" + std::to_string(::getpid());
    run_process({"rm", "-rf", tmp});
    fs::mkdir_p(tmp);
    log::info("extracting {}", deb);
    run_checked({"dpkg-deb", "-x", deb, tmp});
    fs::write_file(fs::join(tmp, kStamp), stamp_text);
    run_process({"rm", "-rf", dest});
    if (::rename(tmp.c_str(), dest.c_str()) < 0) {
        int err = errno;
        run_process({"rm", "-rf", tmp});
        // Another build may have won the race; use its result if complete.
        if (auto s = fs::try_read_file(stamp); s && *s == stamp_text) return;
        throw_errno("rename `" + tmp + "` to `" + dest + "`", err);
    }
}

KernelFiles from_package(const std::string& name, const std::string& cache_dir, Arch arch) {
    auto [pkg, version] = resolve_kernel_package_version(name, arch);
    // Foreign-architecture packages get their own cache entries (one per arch).
    bool foreign = arch != host_arch();
    std::string key = safe_name(pkg + "_" + version + (foreign ? std::string("_") + arch_name(arch) : ""));
    std::string dest = fs::join(cache_dir, key);
    std::string stamp_text = pkg + " " + version + "\n";
    if (auto s = fs::try_read_file(fs::join(dest, kStamp)); s && *s == stamp_text) {
        log::info("kernel {} {} (cached)", pkg, version);
        return locate_kernel(dest);
    }
    fs::mkdir_p(cache_dir);
    std::string deb = fs::join(cache_dir, key + ".deb");
    if (!fs::exists(deb)) {
        std::string dl = fs::join(cache_dir, "download-" + std::to_string(::getpid()));
        fs::mkdir_p(dl);
        log::info("downloading {} {}", pkg, version);
        try {
            run_checked({"apt-get", "download",
                         pkg + (foreign ? std::string(":") + arch_name(arch) : "") + "=" + version}, dl);
            auto files = fs::list_dir(dl);
            if (files.size() != 1 || !ends_with(files[0], ".deb"))
                throw Error("apt-get download `" + pkg + "` did not produce one .deb file");
            std::string got = fs::join(dl, files[0]);
            if (::rename(got.c_str(), deb.c_str()) < 0) throw_errno("rename `" + got + "`");
        } catch (...) {
            run_process({"rm", "-rf", dl});
            throw;
        }
        run_process({"rm", "-rf", dl});
    }
    extract_deb(deb, dest, stamp_text);
    return locate_kernel(dest);
}

KernelFiles from_deb(const std::string& deb, const std::string& cache_dir) {
    struct stat st;
    if (::stat(deb.c_str(), &st) < 0) throw_errno("kernel package `" + deb + "`");
    std::string base = deb.substr(deb.rfind('/') == std::string::npos ? 0 : deb.rfind('/') + 1);
    std::string key = safe_name(base.substr(0, base.size() - 4));
    std::string stamp_text = base + " " + std::to_string(st.st_size) + " " + std::to_string(st.st_mtime) + "\n";
    std::string dest = fs::join(cache_dir, key);
    fs::mkdir_p(cache_dir);
    extract_deb(deb, dest, stamp_text);
    return locate_kernel(dest);
}

std::string home_dir() {
    if (const char* h = std::getenv("HOME"); h && *h) return h;
    if (passwd* pw = ::getpwuid(::getuid())) return pw->pw_dir;
    throw Error("cannot find the home directory (HOME is not set)");
}

}  // namespace

std::string default_kernel_cache_dir() {
    if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x == '/')
        return fs::join(fs::join(x, "berth"), "kernels");
    return fs::join(home_dir(), ".cache/berth/kernels");
}

std::pair<std::string, std::string> resolve_kernel_package_version(const std::string& name, Arch arch) {
    // One apt-cache call per level: a meta-package's Depends usually pins the exact
    // version of the versioned package, so that needs no second look-up.
    std::string cur = name;
    for (int depth = 0; depth < 4; ++depth) {
        AptPackage p = apt_show(cur, arch);
        if (is_versioned_image_package(cur)) return {cur, p.version};
        auto dep = std::find_if(p.depends.begin(), p.depends.end(),
                                [](const auto& d) { return d.first.rfind("linux-image-", 0) == 0; });
        if (dep == p.depends.end()) return {cur, p.version};  // not a meta-package
        if (is_versioned_image_package(dep->first) && !dep->second.empty()) return *dep;
        cur = dep->first;
    }
    throw Error("kernel package `" + name + "`: too many levels of meta-packages", ELOOP);
}

std::string resolve_kernel_package(const std::string& name, Arch arch) {
    return resolve_kernel_package_version(name, arch).first;
}

KernelFiles locate_kernel(const std::string& root) {
    KernelFiles k;
    k.root = root;
    std::string boot = fs::join(root, "boot");
    std::vector<std::string> images;
    if (fs::is_dir(boot))
        for (const auto& n : fs::list_dir(boot))
            if (n.rfind("vmlinuz-", 0) == 0 || n.rfind("bzImage-", 0) == 0) images.push_back(n);
    std::string version_hint;
    if (images.size() == 1) {
        k.vmlinuz = fs::join(boot, images[0]);
        version_hint = images[0].substr(8);
    } else if (images.size() > 1) {
        throw Error("`" + boot + "` holds more than one kernel image; keep only one", EINVAL);
    } else {
        for (const char* n : {"vmlinuz", "bzImage", "kernel", "boot/vmlinuz"})
            if (fs::exists(fs::join(root, n))) {
                k.vmlinuz = fs::join(root, n);
                break;
            }
    }
    if (k.vmlinuz.empty())
        throw Error("no kernel image in `" + root + "` (looked for boot/vmlinuz-*, vmlinuz, bzImage)",
                    ENOENT);
    locate_modules(k, root, version_hint);
    return k;
}

void locate_modules(KernelFiles& k, const std::string& root, const std::string& version_hint) {
    for (const char* m : {"lib/modules", "usr/lib/modules"}) {
        std::string md = fs::join(root, m);
        if (!fs::is_dir(md)) continue;
        auto versions = fs::list_dir(md);
        if (!version_hint.empty() && fs::is_dir(fs::join(md, version_hint))) {
            k.version = version_hint;
        } else if (versions.size() == 1) {
            k.version = versions[0];
        } else if (versions.size() > 1) {
            throw Error("`" + md + "` holds modules for several kernels; keep only one", EINVAL);
        }
        if (!k.version.empty()) {
            k.modules_dir = fs::join(md, k.version);
            break;
        }
    }
    if (k.version.empty()) k.version = version_hint;
}

KernelFiles obtain_kernel(const std::string& spec, const std::string& base_dir,
                          const std::string& cache_dir, Arch arch) {
    return with_context("kernel `" + spec + "`", [&] {
        KernelFiles k;
        std::string as_path = resolve_path(spec, base_dir);
        if (ends_with(spec, ".deb")) {
            k = from_deb(as_path, cache_dir);
        } else if (spec.find('/') != std::string::npos || fs::is_dir(as_path)) {
            if (!fs::is_dir(as_path)) throw Error("`" + as_path + "` is not a directory", ENOENT);
            k = locate_kernel(as_path);
        } else {
            std::string pkg = kernel_package_for(spec, arch);
            if (pkg != spec) log::info("kernel package {} for {}", pkg, arch_name(arch));
            k = from_package(pkg, cache_dir, arch);
        }
        // A kernel for the wrong machine would only show as a silent QEMU; say it here.
        if (auto got = kernel_image_arch(k.vmlinuz); got && *got != arch)
            throw Error("`" + k.vmlinuz + "` is a kernel for " + arch_name(*got) + ", not " + arch_name(arch),
                        ENOEXEC);
        return k;
    });
}

}  // namespace berth::builder
