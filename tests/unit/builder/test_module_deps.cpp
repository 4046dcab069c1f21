#include <catch2/catch.hpp>

#include <map>

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
