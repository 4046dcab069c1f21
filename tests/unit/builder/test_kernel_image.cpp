// LinuxKit kernel images: reading /kernel, /kernel.tar and /ucode.cpio, and the
// layout `berth kernel import` writes from a Debian kernel tree.
#include <catch2/catch.hpp>

#include "builder/image_store.hpp"
#include "builder/kernel_image.hpp"
#include "builder/module_deps.hpp"
#include "builder/oci_image.hpp"
#include "common/fs.hpp"
#include "oci_fixture.hpp"
#include "test_util.hpp"

using namespace berth;
using namespace berth::builder;
using Catch::Matchers::Contains;
using test::LayerEntry;

namespace {

const char* kTarGz = "application/vnd.oci.image.layer.v1.tar+gzip";
const char* kVersion = "6.1.0-9-test";

LayerEntry file(std::string path, std::string data, unsigned mode = 0644) {
    LayerEntry e;
    e.path = std::move(path);
    e.data = std::move(data);
    e.mode = mode;
    return e;
}
LayerEntry dir(std::string path) {
    LayerEntry e;
    e.type = LayerEntry::dir;
    e.path = std::move(path);
    e.mode = 0755;
    return e;
}

std::string fake_module(const test::TempDir& tmp, const std::string& name, const std::string& depends) {
    std::string p = tmp / (name + ".ko");
    test::write_fake_module(p, {"name=" + name, "depends=" + depends});
    return fs::read_file(p);
}

// kernel.tar as LinuxKit's kernel images carry it: lib/modules/<version>/…
std::string modules_tar(const test::TempDir& tmp) {
    std::string m = std::string("lib/modules/") + kVersion;
    return test::make_layer({dir("lib"), dir("lib/modules"), dir(m), dir(m + "/kernel"),
                             file(m + "/kernel/foo.ko", fake_module(tmp, "foo", "bar")),
                             file(m + "/kernel/bar.ko", fake_module(tmp, "bar", "")),
                             file(m + "/modules.builtin", "kernel/drivers/virtio/virtio.ko\n")},
                            "");
}

ResolvedImage open_image(const std::string& layout, const std::string& tag = "") {
    ResolvedImage r;
    r.kind = ResolvedImage::Kind::oci;
    r.reference = "linuxkit/kernel:test";
    r.what = "kernel.image 'linuxkit/kernel:test'";
    r.path = layout;
    r.oci = open_oci_image(layout, tag, Platform{}, r.what);
    return r;
}

}  // namespace

TEST_CASE("kernel image: /kernel, /kernel.tar and /ucode.cpio are read as LinuxKit lays them out",
          "[builder][kernel-image]") {
    test::TempDir tmp;
    test::LayoutBuilder b(tmp / "layout");
    std::string layer = test::make_layer({file("kernel", "BZIMAGE"), file("kernel.tar", modules_tar(tmp)),
                                          file("ucode.cpio", "070701UCODE"), file("System.map", "map")},
                                         "gzip");
    b.index({{b.image(nlohmann::json::object(), {{layer, kTarGz}}), "test"}});
    ResolvedImage img = open_image(tmp / "layout");

    KernelImageNames names;
    names.ucode = "ucode.cpio";
    KernelFiles k = kernel_from_image(img, names, tmp / "cache", Arch::amd64);
    CHECK(fs::read_file(k.vmlinuz) == "BZIMAGE");
    CHECK(k.version == kVersion);
    CHECK(fs::read_file(k.ucode) == "070701UCODE");
    REQUIRE(fs::is_dir(k.modules_dir));

    // Module dependencies come from the tree in kernel.tar, as for a Debian package.
    ModuleTree mods(k.modules_dir);
    ModuleLoadPlan plan = resolve_modules({"foo", "virtio"}, mods.facts());
    CHECK(plan.load_order == std::vector<std::string>{"bar", "foo"});
    CHECK(plan.builtin == std::vector<std::string>{"virtio"});

    // The default names: no microcode unless kernel.ucode names it.
    KernelFiles plain = kernel_from_image(img, KernelImageNames{}, tmp / "cache", Arch::amd64);
    CHECK(plain.ucode.empty());
    CHECK(plain.version == kVersion);

    // A second build reads the cache, keyed by the manifest digest: the blobs are not read again.
    for (const auto& n : fs::list_dir(tmp / "layout/blobs/sha256")) fs::write_file(tmp / ("layout/blobs/sha256/" + n), "gone");
    CHECK(fs::read_file(kernel_from_image(img, names, tmp / "cache", Arch::amd64).vmlinuz) == "BZIMAGE");
}

TEST_CASE("kernel image: binary and tar name other files; tar: none has no modules", "[builder][kernel-image]") {
    test::TempDir tmp;
    test::LayoutBuilder b(tmp / "layout");
    std::string layer = test::make_layer({dir("boot"), file("boot/bzImage", "OTHER"), file("mods.tar", modules_tar(tmp))}, "gzip");
    b.index({{b.image(nlohmann::json::object(), {{layer, kTarGz}}), "test"}});
    ResolvedImage img = open_image(tmp / "layout");

    KernelImageNames names{"boot/bzImage", "mods.tar", ""};
    KernelFiles k = kernel_from_image(img, names, tmp / "cache", Arch::amd64);
    CHECK(fs::read_file(k.vmlinuz) == "OTHER");
    CHECK(k.version == kVersion);

    KernelFiles none = kernel_from_image(img, KernelImageNames{"boot/bzImage", "none", ""}, tmp / "cache", Arch::amd64);
    CHECK(none.modules_dir.empty());

    // The defaults are missing from this image: errors name the key to set.
    CHECK_THROWS_WITH(kernel_from_image(img, KernelImageNames{}, tmp / "cache", Arch::amd64),
                      Contains("kernel.image 'linuxkit/kernel:test': the image has no `/kernel` (kernel.binary"));
    CHECK_THROWS_WITH(kernel_from_image(img, KernelImageNames{"boot/bzImage", "kernel.tar", ""}, tmp / "cache", Arch::amd64),
                      Contains("no `/kernel.tar` (kernel.tar; `tar: none` for a kernel without modules)"));
    CHECK_THROWS_WITH(kernel_from_image(img, KernelImageNames{"boot/bzImage", "none", "ucode.cpio"}, tmp / "cache", Arch::amd64),
                      Contains("no `/ucode.cpio` (kernel.ucode"));
    // A tar without lib/modules/<version>/ is not a kernel.tar.
    CHECK_THROWS_WITH(kernel_from_image(img, KernelImageNames{"boot/bzImage", "boot/bzImage", ""}, tmp / "cache", Arch::amd64),
                      Contains("boot/bzImage"));
}

TEST_CASE("kernel image: a kernel for another architecture is refused", "[builder][kernel-image]") {
    test::TempDir tmp;
    test::LayoutBuilder b(tmp / "layout");
    // An arm64 Image header: "ARM\x64" at offset 56.
    std::string arm64(64, '\0');
    arm64.replace(56, 4, "ARM\x64");
    std::string layer = test::make_layer({file("kernel", arm64)}, "gzip");
    b.index({{b.image(nlohmann::json::object(), {{layer, kTarGz}}), "test"}});
    CHECK_THROWS_WITH(kernel_from_image(open_image(tmp / "layout"), KernelImageNames{"kernel", "none", ""}, tmp / "cache",
                                        Arch::amd64),
                      Contains("is a kernel for arm64, not amd64"));
}

TEST_CASE("kernel import: a Debian kernel tree becomes a kernel image that reads back", "[builder][kernel-image]") {
    test::TempDir tmp;
    std::string root = tmp / "deb";
    std::string m = root + "/lib/modules/" + kVersion;
    fs::mkdir_p(m + "/kernel/drivers");
    fs::mkdir_p(root + "/boot");
    fs::write_file(root + "/boot/vmlinuz-" + kVersion, "DEBIAN-VMLINUZ");
    test::write_fake_module(m + "/kernel/drivers/foo.ko", {"name=foo", "depends=bar"});
    test::write_fake_module(m + "/kernel/drivers/bar.ko", {"name=bar", "depends="});
    KernelFiles deb = locate_kernel(root);

    write_kernel_image_layout(deb, tmp / "layout", Arch::amd64, "debian-kernel:test");
    CHECK(is_oci_layout(tmp / "layout"));
    CHECK_FALSE(fs::exists(tmp / "layout/stage"));
    ResolvedImage img = open_image(tmp / "layout", "test");
    CHECK(img.oci.config.value("architecture", "") == "amd64");
    REQUIRE(img.oci.layers.size() == 1);

    // The layer holds exactly /kernel and /kernel.tar, as LinuxKit's kernel images do.
    Tree raw;
    unpack_oci_image(raw, "r", img.oci, img.what);
    CHECK(raw.contains("r/kernel"));
    CHECK(raw.contains("r/kernel.tar"));
    CHECK(raw.size() == 3);

    KernelFiles k = kernel_from_image(img, KernelImageNames{}, tmp / "cache", Arch::amd64);
    CHECK(fs::read_file(k.vmlinuz) == "DEBIAN-VMLINUZ");
    CHECK(k.version == kVersion);
    ModuleTree mods(k.modules_dir);
    CHECK(resolve_modules({"foo"}, mods.facts()).load_order == std::vector<std::string>{"bar", "foo"});

    // The same kernel written twice gives the same image (fixed times and owners).
    write_kernel_image_layout(deb, tmp / "again", Arch::amd64, "debian-kernel:test");
    CHECK(open_image(tmp / "again", "test").oci.manifest.digest == img.oci.manifest.digest);
}

TEST_CASE("kernel import: into the store, found by its reference", "[builder][kernel-image]") {
    test::TempDir tmp;
    std::string root = tmp / "deb";
    fs::mkdir_p(root + "/boot");
    fs::mkdir_p(root + "/lib/modules/" + kVersion + "/kernel");
    fs::write_file(root + "/boot/vmlinuz-" + kVersion, "VMLINUZ");
    test::write_fake_module(root + "/lib/modules/" + kVersion + "/kernel/foo.ko", {"name=foo", "depends="});
    StoreEntry e = import_kernel_image(root, "debian-kernel:test", tmp / "store", tmp / "kcache", Arch::amd64);
    // The store names entries by the normalised reference.
    CHECK(e.reference == "docker.io/library/debian-kernel:test");
    ImageStore store(tmp / "store");
    REQUIRE(store.has("debian-kernel:test"));
    // Nothing of the staging is left in the store.
    CHECK(fs::list_dir(tmp / "store/tmp").empty());
    ResolvedImage img;
    img.kind = ResolvedImage::Kind::oci;
    img.reference = e.reference;
    img.what = "kernel.image";
    img.oci = open_oci_image(tmp / "store", e.reference, Platform{}, img.what);
    KernelFiles k = kernel_from_image(img, KernelImageNames{}, tmp / "cache", Arch::amd64);
    CHECK(fs::read_file(k.vmlinuz) == "VMLINUZ");
    CHECK(ModuleTree(k.modules_dir).file_of("foo") == std::optional<std::string>("kernel/foo.ko"));
}
