// The block device probe on images made by the real mkfs tools (same fields as
// blkid reads), on hand-made xfs/squashfs superblocks, and on any bytes.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <random>

#include "common/fs.hpp"
#include "fake_sys.hpp"
#include "init/disk_links.hpp"
#include "init/disk_probe.hpp"
#include "../skip.hpp"
#include "../temp_dir.hpp"

using namespace berth::init;

using berth::test::TempDir;

namespace {

bool have(const char* tool) {
    return std::system(("command -v " + std::string(tool) + " >/dev/null 2>&1 || test -x /usr/sbin/" + tool +
                        " || test -x /sbin/" + tool).c_str()) == 0;
}

// Runs `cmd` with /usr/sbin on PATH; the image's first kDiskProbeBytes bytes.
std::string make_image(const TempDir& d, const std::string& cmd) {
    std::string img = d.path() + "/img";
    std::string full = "export PATH=$PATH:/usr/sbin:/sbin; cd " + d.path() + " && rm -f img && truncate -s 64M img && " +
                       cmd + " >/dev/null 2>&1";
    REQUIRE(std::system(full.c_str()) == 0);
    return berth::fs::read_file(img).substr(0, kDiskProbeBytes);
}

}  // namespace

TEST_CASE("probe: ext4, vfat and swap made by their mkfs") {
    TempDir d;
    if (!have("mkfs.ext4") || !have("mkfs.vfat") || !have("mkswap")) BERTH_SKIP("mkfs.ext4, mkfs.vfat or mkswap missing");
    auto ext4 = probe_filesystem(
        make_image(d, "mkfs.ext4 -q -F -U 3f1c2a9e-5b7d-4e10-9a2b-0c4d5e6f7a8b -L berth-data img"));
    REQUIRE(ext4);
    CHECK(ext4->type == "ext4");
    CHECK(ext4->uuid == "3f1c2a9e-5b7d-4e10-9a2b-0c4d5e6f7a8b");
    CHECK(ext4->label == "berth-data");

    auto fat = probe_filesystem(make_image(d, "mkfs.vfat -F 32 -i 1A2B3C4D -n ESP img"));
    REQUIRE(fat);
    CHECK(fat->type == "vfat");
    CHECK(fat->uuid == "1A2B-3C4D");
    CHECK(fat->label == "ESP");
    auto fat16 = probe_filesystem(make_image(d, "mkfs.vfat -F 16 -i 0000BEEF img"));
    REQUIRE(fat16);
    CHECK(fat16->uuid == "0000-BEEF");
    CHECK(fat16->label.empty());  // "NO NAME"

    auto swap = probe_filesystem(make_image(d, "mkswap -U 0a0b0c0d-1111-2222-3333-444455556666 -L swap0 img"));
    REQUIRE(swap);
    CHECK(swap->type == "swap");
    CHECK(swap->uuid == "0a0b0c0d-1111-2222-3333-444455556666");
    CHECK(swap->label == "swap0");
}

TEST_CASE("probe: GPT partition GUIDs as sfdisk wrote them") {
    TempDir d;
    if (!have("sfdisk")) BERTH_SKIP("sfdisk missing");
    std::string head = make_image(d, "printf 'label: gpt\\n"
                                     "start=2048, size=4096, uuid=6A1B5E7C-2D3F-4A5B-8C9D-0E1F2A3B4C5D\\n"
                                     "start=8192, size=4096, uuid=00112233-4455-6677-8899-AABBCCDDEEFF\\n' | sfdisk -q img");
    auto uuids = gpt_partition_uuids(head);
    REQUIRE(uuids.size() == 2);
    CHECK(uuids[0] == "6a1b5e7c-2d3f-4a5b-8c9d-0e1f2a3b4c5d");
    CHECK(uuids[1] == "00112233-4455-6677-8899-aabbccddeeff");
    CHECK_FALSE(probe_filesystem(head));
    CHECK(gpt_partition_uuids(std::string(kDiskProbeBytes, '\0')).empty());
}

TEST_CASE("probe: xfs and squashfs superblocks") {
    std::string xfs(4096, '\0');
    xfs.replace(0, 4, "XFSB");
    for (int i = 0; i < 16; ++i) xfs[std::size_t(32 + i)] = char(0x10 + i);
    xfs.replace(108, 4, "logs");
    auto x = probe_filesystem(xfs);
    REQUIRE(x);
    CHECK(x->type == "xfs");
    CHECK(x->uuid == "10111213-1415-1617-1819-1a1b1c1d1e1f");
    CHECK(x->label == "logs");
    std::string sq(4096, '\0');
    sq.replace(0, 4, "hsqs");
    auto s = probe_filesystem(sq);
    REQUIRE(s);
    CHECK(s->type == "squashfs");
    CHECK(s->uuid.empty());
}

TEST_CASE("probe: any bytes and any length are safe") {
    std::mt19937 rng(11);
    for (int i = 0; i < 3000; ++i) {
        std::string b(rng() % (kDiskProbeBytes + 1), '\0');
        for (auto& c : b) c = char(rng() % 4 == 0 ? rng() : 0);
        // The magics at their places, so the parsers past them run on garbage.
        if (b.size() > 1200 && rng() % 2) b[1024 + 56] = char(0x53), b[1024 + 57] = char(0xEF);
        if (b.size() > 600 && rng() % 2) b.replace(512, 8, "EFI PART");
        if (b.size() > 512 && rng() % 2) b[510] = char(0x55), b[511] = char(0xAA), b.replace(54, 8, "FAT16   ");
        (void)probe_filesystem(b);
        for (const auto& u : gpt_partition_uuids(b)) CHECK((u.empty() || u.size() == 36));
    }
    // A header that claims entries far beyond what was read.
    std::string g(1024, '\0');
    g.replace(512, 8, "EFI PART");
    g[512 + 72] = char(0xff), g[512 + 80] = char(128), g[512 + 84] = char(128);
    CHECK(gpt_partition_uuids(g).empty());
}

TEST_CASE("udev's encodings of labels and serials") {
    CHECK(udev_encode("my disk/1") == "my\\x20disk\\x2f1");
    CHECK(udev_encode("ESP") == "ESP");
    CHECK(udev_id_part("  QEMU HARDDISK  ") == "QEMU_HARDDISK");
    // udev replaces each unsafe byte with '_' (it does not drop it), keeps valid
    // UTF-8 and "\\x" escapes, and reads up to the first NUL.
    CHECK(udev_id_part("a/b\x01" "c") == "a_b_c");
    CHECK(udev_id_part("caf\xc3\xa9 1") == "caf\xc3\xa9_1");
    CHECK(udev_id_part("x\xff\xc3(\xe2\x82") == "x_____");
    CHECK(udev_id_part("\xc0\xaf\xed\xa0\x80") == "_____");  // overlong, surrogate
    CHECK(udev_id_part(std::string("ab\0cd", 5)) == "ab");
    CHECK(udev_id_part("a\\x2fb\\") == "a\\x2fb_");
    CHECK(udev_id_part(" \t\n") == "");
}

TEST_CASE("disk links: a GPT disk with an ext4 partition, then its removal") {
    TempDir d;
    if (!have("mkfs.ext4") || !have("sfdisk")) BERTH_SKIP("mkfs.ext4 or sfdisk missing");
    testing::FakeSys sys;
    std::string disk = make_image(d, "printf 'label: gpt\\nstart=2048, size=8192, "
                                     "uuid=6A1B5E7C-2D3F-4A5B-8C9D-0E1F2A3B4C5D\\n' | sfdisk -q img");
    std::string part = make_image(d, "mkfs.ext4 -q -F -U 3f1c2a9e-5b7d-4e10-9a2b-0c4d5e6f7a8b -L data img");
    sys.files["/dev/vda"] = disk;
    sys.files["/dev/vda1"] = part;
    sys.files["/sys/class/block/vda/size"] = "131072\n";
    sys.files["/sys/class/block/vda/serial"] = "disk-7\n";
    sys.files["/sys/class/block/vda1/size"] = "8192\n";
    sys.files["/sys/class/block/vda1/partition"] = "1\n";
    sys.files["/sys/class/block/loop0/size"] = "0\n";
    sys.files["/dev/loop0"] = part;
    sys.files_present.insert("/sys/class/block/vda/vda1");
    sys.dirs["/sys/class/block"] = {"loop0", "ram0", "vda", "vda1"};
    DiskLinks links(sys);
    links.scan();
    CHECK(sys.symlinks == std::map<std::string, std::string>{
                              {"/dev/disk/by-id/virtio-disk-7", "../../vda"},
                              {"/dev/disk/by-id/virtio-disk-7-part1", "../../vda1"},
                              {"/dev/disk/by-label/data", "../../vda1"},
                              {"/dev/disk/by-partuuid/6a1b5e7c-2d3f-4a5b-8c9d-0e1f2a3b4c5d", "../../vda1"},
                              {"/dev/disk/by-uuid/3f1c2a9e-5b7d-4e10-9a2b-0c4d5e6f7a8b", "../../vda1"}});
    links.removed("vda1");
    CHECK(sys.symlinks == std::map<std::string, std::string>{{"/dev/disk/by-id/virtio-disk-7", "../../vda"}});
    // Another device taking a name replaces the link; removing the first keeps it.
    sys.files["/dev/vdb"] = part;
    sys.files["/sys/class/block/vdb/size"] = "8192\n";
    links.added("vda1");
    links.added("vdb");
    links.removed("vda1");
    CHECK(sys.symlinks.at("/dev/disk/by-label/data") == "../../vdb");
}

TEST_CASE("disk links: a second add event keeps what is still true and drops the rest") {
    TempDir d;
    if (!have("mkfs.ext4")) BERTH_SKIP("mkfs.ext4 missing");
    testing::FakeSys sys;
    sys.files["/dev/vdb"] = make_image(d, "mkfs.ext4 -q -F -U 3f1c2a9e-5b7d-4e10-9a2b-0c4d5e6f7a8b -L data img");
    sys.files["/sys/class/block/vdb/size"] = "8192\n";
    sys.files["/sys/class/block/vdb/serial"] = "s1\n";
    DiskLinks links(sys);
    links.added("vdb");
    CHECK(links.links_of("vdb").size() == 3);
    std::size_t creates = sys.symlinks.size();
    links.added("vdb");  // the boot scan, then the queued add event
    CHECK(sys.symlinks.size() == creates);
    sys.files["/dev/vdb"] = std::string(kDiskProbeBytes, '\0');  // wiped, then re-added
    links.added("vdb");
    CHECK(sys.symlinks == std::map<std::string, std::string>{{"/dev/disk/by-id/virtio-s1", "../../vdb"}});
}

TEST_CASE("disk links: NVMe and SCSI/SATA disks are named from sysfs as udev names them") {
    testing::FakeSys sys;
    sys.files["/dev/nvme0n1"] = std::string(kDiskProbeBytes, '\0');
    sys.files["/sys/class/block/nvme0n1/size"] = "2097152\n";
    sys.files["/sys/class/block/nvme0n1/device/model"] = "Samsung SSD 970 EVO Plus 1TB            \n";
    sys.files["/sys/class/block/nvme0n1/device/serial"] = "S4EWNX0R123456      \n";
    sys.files["/sys/class/block/nvme0n1/wwid"] = "eui.0025388b91b0a1b2\n";
    sys.files["/dev/sda"] = std::string(kDiskProbeBytes, '\0');
    sys.files["/sys/class/block/sda/size"] = "2097152\n";
    sys.files["/sys/class/block/sda/device/wwid"] = "naa.5000c500a1b2c3d4\n";
    sys.files["/sys/class/block/sda/device/model"] = "ST1000DM010-2EP1\n";  // no serial: no ata- name
    sys.files["/dev/sda1"] = std::string(kDiskProbeBytes, '\0');
    sys.files["/sys/class/block/sda1/size"] = "2048\n";
    sys.files["/sys/class/block/sda1/partition"] = "1\n";
    sys.files_present.insert("/sys/class/block/sda/sda1");
    sys.dirs["/sys/class/block"] = {"nvme0n1", "sda", "sda1"};
    DiskLinks links(sys);
    links.scan();
    CHECK(sys.symlinks == std::map<std::string, std::string>{
                              {"/dev/disk/by-id/nvme-Samsung_SSD_970_EVO_Plus_1TB_S4EWNX0R123456", "../../nvme0n1"},
                              {"/dev/disk/by-id/nvme-eui.0025388b91b0a1b2", "../../nvme0n1"},
                              {"/dev/disk/by-id/wwn-0x5000c500a1b2c3d4", "../../sda"},
                              {"/dev/disk/by-id/wwn-0x5000c500a1b2c3d4-part1", "../../sda1"}});
}

namespace {

// The ATA Information VPD page as the kernel caches it: a 60-byte SAT header,
// then IDENTIFY DEVICE with its strings in byte-swapped 16-bit words.
std::string vpd89(const std::string& serial, const std::string& model) {
    std::string page(572, '\0');
    page[1] = char(0x89);
    page[3] = char(0x38);
    page[56] = char(0xec);
    auto put = [&](std::size_t word, std::size_t words, std::string text) {
        text.resize(2 * words, ' ');
        for (std::size_t i = 0; i < text.size(); i += 2) {
            page[60 + 2 * word + i] = text[i + 1];
            page[60 + 2 * word + i + 1] = text[i];
        }
    };
    put(10, 10, serial);
    put(27, 20, model);
    return page;
}

}  // namespace

TEST_CASE("ata_id_from_vpd89: model and serial from the cached IDENTIFY data") {
    CHECK(ata_id_from_vpd89(vpd89("QM00005", "QEMU HARDDISK")) == "QEMU_HARDDISK_QM00005");
    CHECK(ata_id_from_vpd89(vpd89("  WD-WCC4N1234567", "WDC WD10EFRX-68FYTN0")) ==
          "WDC_WD10EFRX-68FYTN0_WD-WCC4N1234567");
    CHECK(ata_id_from_vpd89(vpd89("", "Model Only")) == "Model_Only");
    CHECK(ata_id_from_vpd89(vpd89("S1", "")).empty());  // no model: udev gets no ID_SERIAL either
    CHECK(ata_id_from_vpd89(vpd89("s/1,\xff", "a\tb")) == "a_b_s_1__");
    std::string nul = vpd89("AB", "M");
    nul[60 + 20] = 'X', nul[60 + 21] = '\0';  // "\0X...": the serial ends before it starts
    CHECK(ata_id_from_vpd89(nul) == "M");
    std::string page = vpd89("S", "M");
    CHECK(ata_id_from_vpd89(page.substr(0, 571)).empty());
    CHECK(ata_id_from_vpd89(page + "trailing") == "M_S");
    page[1] = char(0x83);
    CHECK(ata_id_from_vpd89(page).empty());
    CHECK(ata_id_from_vpd89("").empty());
    std::mt19937 rng(89);
    for (int i = 0; i < 2000; ++i) {
        std::string b(rng() % 700, '\0');
        for (auto& c : b) c = char(rng());
        if (b.size() > 1) b[1] = char(0x89);
        std::string id = ata_id_from_vpd89(b);
        CHECK(id.size() <= 61);
        CHECK(id.find_first_of(" /\t\n") == std::string::npos);
    }
}

TEST_CASE("disk links: a SATA disk gets ata-MODEL_SERIAL from vpd_pg89") {
    testing::FakeSys sys;
    sys.files["/dev/sda"] = std::string(kDiskProbeBytes, '\0');
    sys.files["/sys/class/block/sda/size"] = "2097152\n";
    sys.files["/sys/class/block/sda/device/vendor"] = "ATA     \n";
    sys.files["/sys/class/block/sda/device/model"] = "QEMU HARDDISK   \n";
    sys.files["/sys/class/block/sda/device/vpd_pg89"] = vpd89("berth-ata-1", "Berth Test Disk");
    sys.files["/dev/sda1"] = std::string(kDiskProbeBytes, '\0');
    sys.files["/sys/class/block/sda1/size"] = "2048\n";
    sys.files["/sys/class/block/sda1/partition"] = "1\n";
    sys.files_present.insert("/sys/class/block/sda/sda1");
    // A SCSI disk from another vendor with the same page is not an ATA disk to udev.
    sys.files["/dev/sdb"] = std::string(kDiskProbeBytes, '\0');
    sys.files["/sys/class/block/sdb/size"] = "2048\n";
    sys.files["/sys/class/block/sdb/device/vendor"] = "QEMU    \n";
    sys.files["/sys/class/block/sdb/device/vpd_pg89"] = vpd89("x", "y");
    sys.dirs["/sys/class/block"] = {"sda", "sda1", "sdb"};
    DiskLinks links(sys);
    links.scan();
    CHECK(sys.symlinks == std::map<std::string, std::string>{
                              {"/dev/disk/by-id/ata-Berth_Test_Disk_berth-ata-1", "../../sda"},
                              {"/dev/disk/by-id/ata-Berth_Test_Disk_berth-ata-1-part1", "../../sda1"}});
    // A page the kernel could not read (no file) or a short one: no ata- name.
    sys.files["/sys/class/block/sda/device/vpd_pg89"] = std::string("\x00\x89\x02", 3);
    links.changed("sda");
    CHECK(links.links_of("sda").empty());
}

TEST_CASE("disk links: a USB stick gets usb-VENDOR_MODEL_SERIAL-TARGET:LUN as usb_id names it") {
    testing::FakeSys sys;
    const std::string dev = "/sys/class/block/sdb/device";
    sys.files["/dev/sdb"] = std::string(kDiskProbeBytes, '\0');
    sys.files["/sys/class/block/sdb/size"] = "131072\n";
    sys.files[dev + "/vendor"] = "QEMU    \n";
    sys.files[dev + "/model"] = "QEMU HARDDISK   \n";
    sys.dirs[dev + "/scsi_device"] = {"2:0:0:3"};
    sys.files[dev + "/../../../bInterfaceClass"] = "08\n";
    sys.files[dev + "/../../../bInterfaceSubClass"] = "06\n";
    sys.files[dev + "/../../../../serial"] = "berth usb 1\n";
    sys.files[dev + "/../../../../manufacturer"] = "QEMU\n";
    sys.files[dev + "/../../../../product"] = "QEMU USB HARDDRIVE\n";
    sys.files["/dev/sdb1"] = std::string(kDiskProbeBytes, '\0');
    sys.files["/sys/class/block/sdb1/size"] = "2048\n";
    sys.files["/sys/class/block/sdb1/partition"] = "1\n";
    sys.files_present.insert("/sys/class/block/sdb/sdb1");
    sys.dirs["/sys/class/block"] = {"sdb", "sdb1"};
    DiskLinks links(sys);
    links.scan();
    CHECK(sys.symlinks == std::map<std::string, std::string>{
                              {"/dev/disk/by-id/usb-QEMU_QEMU_HARDDISK_berth_usb_1-0:3", "../../sdb"},
                              {"/dev/disk/by-id/usb-QEMU_QEMU_HARDDISK_berth_usb_1-0:3-part1", "../../sdb1"}});
    links.removed("sdb1");
    links.removed("sdb");
    CHECK(sys.symlinks.empty());

    // A serial udev does not trust (a comma, a control or non-ASCII byte) is left out.
    for (const char* bad : {"12,34\n", "ab\x01\n", "s\xc3\xa9\n"}) {
        sys.files[dev + "/../../../../serial"] = bad;
        links.added("sdb");
        CHECK(links.links_of("sdb") == std::vector<std::string>{"by-id/usb-QEMU_QEMU_HARDDISK-0:3"});
    }
    sys.files[dev + "/../../../../serial"] = std::string("AB\0,\x01\n", 6);  // ends at the NUL
    links.added("sdb");
    CHECK(links.links_of("sdb") == std::vector<std::string>{"by-id/usb-QEMU_QEMU_HARDDISK_AB-0:3"});
    // An odd SCSI name: the USB device's own names, no instance.
    sys.dirs[dev + "/scsi_device"] = {"2:0:0"};
    sys.files[dev + "/../../../../serial"] = "S/N 7\n";
    links.changed("sdb");
    CHECK(links.links_of("sdb") == std::vector<std::string>{"by-id/usb-QEMU_QEMU_USB_HARDDRIVE_S_N_7"});
    // A floppy-class (UFI) device: USB names; without them, the ids.
    sys.dirs[dev + "/scsi_device"] = {"2:0:0:0"};
    sys.files[dev + "/../../../bInterfaceSubClass"] = "04\n";
    sys.files.erase(dev + "/../../../../manufacturer");
    sys.files.erase(dev + "/../../../../product");
    sys.files[dev + "/../../../../idVendor"] = "46f4\n";
    sys.files[dev + "/../../../../idProduct"] = "0001\n";
    links.changed("sdb");
    CHECK(links.links_of("sdb") == std::vector<std::string>{"by-id/usb-46f4_0001_S_N_7"});
    // A bridge that reports vendor ATA with the ATA Information page: ata-, as udev's
    // ata_id rule comes before usb_id's.
    sys.files[dev + "/vendor"] = "ATA     \n";
    sys.files[dev + "/vpd_pg89"] = vpd89("WD-1", "WDC WD10");
    links.changed("sdb");
    CHECK(links.links_of("sdb") == std::vector<std::string>{"by-id/ata-WDC_WD10_WD-1"});
    sys.files.erase(dev + "/vpd_pg89");
    // Not mass storage (or no USB parent at all): no usb- name.
    sys.files[dev + "/../../../bInterfaceClass"] = "03\n";
    links.changed("sdb");
    CHECK(links.links_of("sdb").empty());
}
