#include <catch2/catch.hpp>

#include <map>

#include "builder/module_classes.hpp"
#include "builder/module_deps.hpp"
#include "common/fs.hpp"
#include "test_util.hpp"

using namespace berth;
using namespace berth::builder;
using Catch::Matchers::Contains;

namespace {

ModuleFacts fake(std::map<std::string, std::vector<std::string>> deps, std::set<std::string> builtin = {}) {
    ModuleFacts f;
    auto d = std::make_shared<std::map<std::string, std::vector<std::string>>>(std::move(deps));
    auto b = std::make_shared<std::set<std::string>>(std::move(builtin));
    f.is_builtin = [b](const std::string& n) { return b->count(n) != 0; };
    f.depends = [d](const std::string& n) -> std::optional<std::vector<std::string>> {
        auto it = d->find(n);
        if (it == d->end()) return std::nullopt;
        return it->second;
    };
    f.all_names = [d] {
        std::vector<std::string> v;
        for (const auto& [k, _] : *d) v.push_back(k);
        return v;
    };
    return f;
}

}  // namespace

TEST_CASE("modules: names normalise '-' to '_' and drop paths and suffixes", "[builder][modules]") {
    CHECK(normalise_module_name("virtio-rng") == "virtio_rng");
    CHECK(normalise_module_name("kernel/drivers/char/hw_random/virtio-rng.ko") == "virtio_rng");
    CHECK(normalise_module_name("a/b/foo.ko.xz") == "foo");
    CHECK(modinfo_depends({"license=GPL", "depends=virtio_ring,virtio,net-failover", "depends="}) ==
          std::vector<std::string>{"virtio_ring", "virtio", "net_failover"});
    CHECK(modinfo_depends({"depends="}).empty());
}

TEST_CASE("modules: load order puts dependencies first, each module once", "[builder][modules]") {
    // virtio_net -> virtio_ring, virtio, net_failover; virtio -> virtio_ring; net_failover -> failover
    auto facts = fake({{"virtio_net", {"virtio_ring", "virtio", "net_failover"}},
                       {"virtio", {"virtio_ring"}},
                       {"virtio_ring", {}},
                       {"net_failover", {"failover"}},
                       {"failover", {}},
                       {"virtio_pci", {"virtio_ring", "virtio"}},
                       {"virtio_rng", {"virtio"}}},
                      {"af_packet", "crc32c"});
    ModuleLoadPlan p = resolve_modules({"virtio_pci", "virtio-net", "af_packet", "virtio_rng"}, facts);
    CHECK(p.load_order ==
          std::vector<std::string>{"virtio_ring", "virtio", "virtio_pci", "failover", "net_failover", "virtio_net",
                                   "virtio_rng"});
    CHECK(p.builtin == std::vector<std::string>{"af_packet"});

    // Every module after all of its dependencies, whatever the request order.
    ModuleLoadPlan q = resolve_modules({"virtio_net", "virtio_ring"}, facts);
    CHECK(q.load_order == std::vector<std::string>{"virtio_ring", "virtio", "failover", "net_failover", "virtio_net"});

    // A builtin dependency is "nothing to load".
    auto f2 = fake({{"a", {"crc32c", "b"}}, {"b", {}}}, {"crc32c"});
    ModuleLoadPlan r = resolve_modules({"a"}, f2);
    CHECK(r.load_order == std::vector<std::string>{"b", "a"});
    CHECK(r.builtin == std::vector<std::string>{"crc32c"});
}

TEST_CASE("modules: unknown names and cycles are errors", "[builder][modules]") {
    auto facts = fake({{"virtio_net", {"virtio"}}, {"virtio", {}}, {"x", {"y"}}, {"y", {"x"}}, {"z", {"nope"}}});
    CHECK_THROWS_WITH(resolve_modules({"virtio_nett"}, facts),
                      "unknown kernel module 'virtio_nett'; did you mean 'virtio_net'?");
    CHECK_THROWS_WITH(resolve_modules({"z"}, facts), Contains("'z' depends on unknown module 'nope'"));
    CHECK_THROWS_WITH(resolve_modules({"x"}, facts), Contains("cycle: x -> y -> x"));
}

TEST_CASE("modules: a module tree reads .modinfo from the .ko files", "[builder][modules]") {
    test::TempDir tmp;
    std::string root = tmp / "lib/modules/6.1.0-test";
    fs::mkdir_p(root + "/kernel/drivers/virtio");
    fs::mkdir_p(root + "/kernel/drivers/char/hw_random");
    test::write_fake_module(root + "/kernel/drivers/virtio/virtio_ring.ko", {"license=GPL", "depends="});
    test::write_fake_module(root + "/kernel/drivers/virtio/virtio.ko", {"depends=virtio_ring", "intree=Y"});
    test::write_fake_module(root + "/kernel/drivers/char/hw_random/virtio-rng.ko",
                            {"alias=virtio:d00000004v*", "depends=virtio,virtio_ring,rng_core"});
    fs::write_file(root + "/modules.builtin", "kernel/drivers/char/hw_random/rng-core.ko\n");
    fs::write_file(root + "/kernel/drivers/virtio/broken.ko", "not an elf");

    CHECK(read_modinfo(root + "/kernel/drivers/virtio/virtio.ko") ==
          std::vector<std::string>{"depends=virtio_ring", "intree=Y"});
    CHECK_THROWS_WITH(read_modinfo(root + "/kernel/drivers/virtio/broken.ko"), Contains("not an ELF file"));

    ModuleTree t(root);
    CHECK(t.file_of("virtio_rng") == "kernel/drivers/char/hw_random/virtio-rng.ko");
    CHECK(t.is_builtin("rng-core"));
    ModuleLoadPlan p = resolve_modules({"virtio-rng"}, t.facts());
    CHECK(p.load_order == std::vector<std::string>{"virtio_ring", "virtio", "virtio_rng"});
    CHECK(p.builtin == std::vector<std::string>{"rng_core"});
    CHECK_THROWS_WITH(resolve_modules({"e1000"}, t.facts()), Contains("unknown kernel module 'e1000'"));
}

TEST_CASE("modules: classes pick files by directory or name; alias and dep files follow depmod", "[builder][modules]") {
    test::TempDir tmp;
    std::string root = tmp / "lib/modules/6.1.0-test";
    for (const char* d : {"/kernel/drivers/virtio", "/kernel/drivers/net", "/kernel/net/core", "/kernel/drivers/nvme/host",
                          "/kernel/drivers/net/ethernet/intel/e1000", "/kernel/drivers/net/wireless", "/kernel/drivers/acpi",
                          "/kernel/drivers/input"})
        fs::mkdir_p(root + d);
    test::write_fake_module(root + "/kernel/drivers/virtio/virtio_pci.ko",
                            {"alias=pci:v00001AF4d*sv*sd*bc*sc*i*", "depends="});
    test::write_fake_module(root + "/kernel/drivers/net/virtio_net.ko",
                            {"alias=virtio:d00000001v*", "depends=net_failover"});
    test::write_fake_module(root + "/kernel/drivers/net/virtio_net_extra.ko", {"depends="});  // not virtio_net
    test::write_fake_module(root + "/kernel/drivers/net/net_failover.ko", {"depends=failover"});
    test::write_fake_module(root + "/kernel/net/core/failover.ko", {"depends="});
    test::write_fake_module(root + "/kernel/drivers/nvme/host/nvme.ko",
                            {"alias=pci:v*d*sv*sd*bc01sc08i02*", "depends=nvme_core"});
    test::write_fake_module(root + "/kernel/drivers/nvme/host/nvme-core.ko", {"depends="});
    test::write_fake_module(root + "/kernel/drivers/nvme/host/nvme-rdma.ko", {"depends=nvme_core"});  // no device
    test::write_fake_module(root + "/kernel/drivers/net/ethernet/intel/e1000/e1000.ko",
                            {"alias=pci:v00008086d0000100Esv*sd*bc*sc*i*", "alias=bad alias", "depends="});
    test::write_fake_module(root + "/kernel/drivers/net/wireless/mac80211_hwsim.ko", {"depends="});
    test::write_fake_module(root + "/kernel/drivers/acpi/button.ko", {"depends="});
    test::write_fake_module(root + "/kernel/drivers/input/evdev.ko", {"depends="});
    test::write_fake_module(root + "/kernel/drivers/input/joydev.ko", {"depends="});  // no class
    ModuleTree t(root);

    CHECK(modules_of_classes(t, {"virtio"}) == std::vector<std::string>{"virtio_net", "virtio_pci"});
    CHECK(modules_of_classes(t, {"nvme", "nic"}) == std::vector<std::string>{"e1000", "nvme", "nvme_core"});
    // acpid's power button: the button driver and the evdev nodes it reads.
    CHECK(modules_of_classes(t, {"acpi-button"}) == std::vector<std::string>{"button", "evdev"});
    CHECK(modules_of_classes(t, {"all"}).size() == 13);
    CHECK_THROWS_WITH(modules_of_classes(t, {"wifi"}), Contains("unknown module class 'wifi'"));
    CHECK(is_module_class("usb-storage"));
    CHECK_FALSE(is_module_class("virtio_net"));

    ModuleLoadPlan p = resolve_modules(modules_of_classes(t, default_module_classes()), t.facts());
    CHECK(modules_alias_text(t, p.load_order) ==
          "# Aliases extracted from modules themselves.\n"
          "alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000\n"
          "alias pci:v*d*sv*sd*bc01sc08i02* nvme\n"
          "alias virtio:d00000001v* virtio_net\n"
          "alias pci:v00001AF4d*sv*sd*bc*sc*i* virtio_pci\n");
    std::string dep = modules_dep_text(t, p.load_order);
    CHECK_THAT(dep, Contains("kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko "
                             "kernel/net/core/failover.ko\n"));
    CHECK_THAT(dep, Contains("kernel/net/core/failover.ko:\n"));
    CHECK_THAT(dep, Contains("kernel/drivers/nvme/host/nvme.ko: kernel/drivers/nvme/host/nvme-core.ko\n"));
}
