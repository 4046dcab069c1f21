// The builder's verified root: veritysetup's report parsed, the reproducible
// salt and UUID, the tree appended after the 4 KiB-padded image, the command line.
#include <catch2/catch.hpp>

#include "builder/process.hpp"
#include "builder/verity.hpp"
#include "common/fs.hpp"
#include "test_util.hpp"

using namespace berth::builder;
using namespace std::string_literals;

TEST_CASE("verity: the root hash from veritysetup's report") {
    std::string report = "VERITY header information for img\nUUID:            \tab\nSalt:            \t0011\n"
                         "Root hash:      \t616625c040bfc5c47cdc5d0f019e9f83e08d4d95c710d61c2430f06a2351d0ef\n";
    CHECK(parse_root_hash(report) == "616625c040bfc5c47cdc5d0f019e9f83e08d4d95c710d61c2430f06a2351d0ef");
    CHECK_FALSE(parse_root_hash("Salt: 00\n"));
    CHECK_FALSE(parse_root_hash("Root hash: 6166\n"));  // truncated: not taken
}

TEST_CASE("verity: the UUID is a version 4 UUID made from the seed") {
    std::string seed(64, 'f');
    CHECK(uuid_from_hex(seed) == "ffffffff-ffff-4fff-bfff-ffffffffffff");
    CHECK(uuid_from_hex(std::string(64, '0')) == "00000000-0000-4000-8000-000000000000");
}

TEST_CASE("verity: the command line keys PID 1 reads") {
    VerityTree t{"ab", "cd", "u", 12, 49152};
    CHECK(verity_cmdline(t) ==
          "berth.verity.roothash=ab berth.verity.salt=cd berth.verity.datablocks=12 berth.verity.hashoffset=49152");
}

TEST_CASE("verity: the tree follows the padded image, the same image gives the same bytes, veritysetup verifies it") {
    berth::test::TempDir dir;
    std::string data;
    for (int i = 0; i < 3 * 4096 + 100; ++i) data += char((i * 7919) % 251);
    berth::fs::write_file(dir / "a.img", data, 0644);
    berth::fs::write_file(dir / "b.img", data, 0644);
    VerityTree a = append_verity_tree(dir / "a.img");
    VerityTree b = append_verity_tree(dir / "b.img");
    CHECK(a.data_blocks == 4);  // 3 blocks and 100 bytes, padded
    CHECK(a.hash_offset == 4 * 4096);
    CHECK(a.salt.size() == 64);
    CHECK(a.root_hash == b.root_hash);
    CHECK(a.uuid == b.uuid);
    std::string image = berth::fs::read_file(dir / "a.img");
    CHECK(image == berth::fs::read_file(dir / "b.img"));
    CHECK(image.substr(0, data.size()) == data);
    CHECK(image.substr(data.size(), 4 * 4096 - data.size()) == std::string(4 * 4096 - data.size(), '\0'));
    CHECK(image.substr(4 * 4096, 8) == "verity\0\0"s.substr(0, 8));  // the superblock at the hash offset
    CHECK(image.size() == 6 * 4096);                       // superblock + one hash block
    // veritysetup itself accepts the tree with what the command line carries.
    auto ok = run_process({"veritysetup", "verify", "--hash-offset=16384", "--salt=" + a.salt, "--data-blocks=4",
                           dir / "a.img", dir / "a.img", a.root_hash});
    CHECK(ok.exit_code == 0);
    // Another image gives another salt, hence another root hash.
    data[0] ^= 1;
    berth::fs::write_file(dir / "c.img", data, 0644);
    VerityTree c = append_verity_tree(dir / "c.img");
    CHECK(c.salt != a.salt);
    CHECK(c.root_hash != a.root_hash);
}
