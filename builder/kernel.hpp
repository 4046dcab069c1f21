// Getting a kernel: from a Debian package (downloaded with apt and cached), a local
// .deb, or a directory that already holds vmlinuz and lib/modules/<version>/.
// (LinuxKit kernel images, `kernel: image:`, are read by kernel_image.hpp.)
#pragma once
#include <string>
#include <vector>
#include <utility>

#include "builder/arch.hpp"

namespace berth::builder {

struct KernelFiles {
    std::string root;         // the extracted package (or the given directory)
    std::string vmlinuz;      // path of the kernel image
    std::string version;      // "6.1.0-57-cloud-amd64"
    std::string modules_dir;  // root/lib/modules/<version> ("" if the kernel has none)
    std::string ucode;        // microcode cpio to put in front of the initrd ("" if none)
    // A kernel image's own modules to load (its org.berth.kernel.modules label, set by
    // `berth kernel import --modules`): what a LinuxKit kernel has built in.
    std::vector<std::string> default_modules;
};

// $XDG_CACHE_HOME/berth/kernels, else ~/.cache/berth/kernels.
std::string default_kernel_cache_dir();

// `spec` is kernel.package from the YAML: a path ending in ".deb", a directory (a
// value containing '/' or naming an existing directory; relative to base_dir), or a
// Debian package name. Meta-packages are followed to the versioned package.
// `arch` picks the package architecture (apt's NAME:arm64; a name for another
// architecture is mapped, see kernel_package_for) and the kernel image found
// must be for it.
KernelFiles obtain_kernel(const std::string& spec, const std::string& base_dir,
                          const std::string& cache_dir, Arch arch = host_arch());

// Finds vmlinuz and the modules directory in an extracted kernel tree.
KernelFiles locate_kernel(const std::string& root);
// Sets k.version and k.modules_dir from root/lib/modules/<version> (or usr/lib/modules):
// the one version there, or `version_hint` if that directory exists.
void locate_modules(KernelFiles& k, const std::string& root, const std::string& version_hint);

// For a meta-package like linux-image-cloud-amd64: the versioned linux-image-* package
// it depends on (the name itself if it is already versioned), and its candidate
// version. Uses apt-cache (running `apt-get update` once if apt knows nothing).
// For an architecture other than the host's, apt is asked about NAME:ARCH (which
// needs `dpkg --add-architecture ARCH`).
std::pair<std::string, std::string> resolve_kernel_package_version(const std::string& name,
                                                                   Arch arch = host_arch());
std::string resolve_kernel_package(const std::string& name, Arch arch = host_arch());

}  // namespace berth::builder
