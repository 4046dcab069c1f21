// LinuxKit kernel images: an OCI image whose root holds the kernel (`kernel`), a tar
// of lib/modules/<version>/ (`kernel.tar`) and optionally a microcode cpio that
// goes in front of the initrd (`ucode.cpio`). Reading one for `kernel: image:`,
// and making one from a Debian kernel for `berth kernel import`.
#pragma once
#include <string>
#include <vector>

#include "builder/arch.hpp"
#include "builder/image_source.hpp"
#include "builder/image_store.hpp"
#include "builder/kernel.hpp"
#include "builder/tree.hpp"

namespace berth::builder {

// Where the parts are inside the image (kernel.binary, kernel.tar, kernel.ucode).
struct KernelImageNames {
    std::string binary = "kernel";
    std::string tar = "kernel.tar";  // "none": no modules
    std::string ucode;               // "": no microcode
};

// Writes the kernel, the unpacked kernel.tar and the microcode of an image already
// unpacked into `tree` under `root` to the new directory `dest`:
// dest/kernel, dest/modules/lib/modules/<version>/, dest/ucode.cpio.
// `what` names the image in errors.
KernelFiles write_kernel_image_parts(const Tree& tree, const std::string& root, const KernelImageNames& names,
                                     const std::string& dest, const std::string& what);

// The kernel of a resolved image (an OCI image or a plain directory with the same
// layout), extracted once into `cache_dir` (keyed by the manifest digest and the
// names) and checked to be a kernel for `arch`.
KernelFiles kernel_from_image(const ResolvedImage& image, const KernelImageNames& names,
                              const std::string& cache_dir, Arch arch);

// The label naming a kernel image's modules to load when the YAML uses it.
inline constexpr const char* kKernelModulesLabel = "org.berth.kernel.modules";

// Writes an OCI image layout holding `kernel` as a LinuxKit kernel image (one
// layer with /kernel and, when it has modules, /kernel.tar) for `arch`; its
// index entry is annotated with `ref_name` when given (as a store's entries are).
// `modules` (checked to be in the kernel, dependencies resolved at build time) go
// into the org.berth.kernel.modules label: loaded by every image built with this
// kernel, as LinuxKit's kernels have their virtio drivers built in.
void write_kernel_image_layout(const KernelFiles& kernel, const std::string& layout_dir, Arch arch,
                               const std::string& ref_name = "", const std::vector<std::string>& modules = {});

// `berth kernel import`: the kernel `source` (what kernel.package accepts: a Debian
// package name, a .deb or a directory; relative to the current directory) as a
// kernel image tagged `reference` in the store at `store_dir`.
StoreEntry import_kernel_image(const std::string& source, const std::string& reference, const std::string& store_dir,
                               const std::string& kernel_cache_dir, Arch arch,
                               const std::vector<std::string>& modules = {});
// The same as an OCI layout directory `layout_dir` (replaced), e.g. an --images
// directory entry, tagged `reference`. Returns the kernel version.
std::string export_kernel_layout(const std::string& source, const std::string& reference,
                                 const std::string& layout_dir, const std::string& kernel_cache_dir, Arch arch,
                                 const std::vector<std::string>& modules = {});

}  // namespace berth::builder
