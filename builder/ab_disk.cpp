#include "builder/ab_disk.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "builder/disk_image.hpp"
#include "builder/initrd_writer.hpp"
#include "builder/process.hpp"
#include "builder/uki.hpp"
#include "builder/update_bundle.hpp"
#include "builder/verity.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/sha256.hpp"
#include "config/update_bundle.hpp"

namespace berth::builder {

namespace {

constexpr std::uint64_t kMiB = 1 << 20;
constexpr std::uint64_t kSector = 512;
constexpr std::uint64_t kFirstSector = kMiB / kSector;
constexpr std::uint64_t kDefaultDataBytes = 16 * kMiB;
constexpr std::uint64_t kBootLogBytes = kMiB;
const char* const kFormat = "raw-efi-ab";

std::uint64_t round_up(std::uint64_t n, std::uint64_t unit) { return (n + unit - 1) / unit * unit; }

void tool(const std::vector<std::string>& argv, const std::string& package, const std::string& stdin_path = "") {
    ProcessResult r;
    try {
        r = run_process(argv, "", stdin_path);
    } catch (const Error& e) {
        throw Error(std::string(kFormat) + ": " + e.what() + " (apt-get install " + package + ")", e.code());
    }
    if (r.exit_code != 0)
        throw Error(std::string(kFormat) + ": `" + quote_command(argv) + "` failed (exit " +
                        std::to_string(r.exit_code) + "): " + fs::trim(r.err.empty() ? r.out : r.err),
                    EIO);
}

void copy_into(int fd, const std::string& from, std::uint64_t offset, const std::string& to) {
    std::string data = fs::read_file(from);
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, off_t(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("write `" + to + "`");
        done += std::size_t(n);
    }
}

// The menu's title of a slot's UKI.
std::string ab_pretty_name(const std::string& name, const std::string& version, char slot) {
    return "berth " + name + (version.empty() ? "" : " " + version) + " (slot " + slot + ")";
}

}  // namespace

std::uint64_t ab_esp_bytes(std::uint64_t uki_bytes) {
    return std::max<std::uint64_t>(64 * kMiB, round_up(4 * uki_bytes + 4 * kMiB, kMiB));
}

UkiParts ab_uki_parts(const OutputOptions& o, const AbSettings& ab, char slot, const std::string& cmdline) {
    UkiParts p;
    p.stub = o.uki_stub;
    p.kernel = o.kernel_image;
    p.cmdline = cmdline + " berth.slot=" + slot;
    p.osrel = uki_os_release(ab.name, ab_pretty_name(ab.name, ab.version, slot));
    p.uname = o.kernel_version;
    return p;
}

std::string ab_gpt_script(const std::string& seed, std::uint64_t esp_sectors, std::uint64_t slot_sectors,
                          std::uint64_t data_sectors, const std::string& data_label) {
    std::string s = "label: gpt\nlabel-id: " + guid_from_seed(seed + "/disk") + "\nfirst-lba: " +
                    std::to_string(kFirstSector) + "\n";
    std::uint64_t at = kFirstSector;
    auto part = [&](std::uint64_t sectors, const char* type, const std::string& id, const std::string& name) {
        s += "start=" + std::to_string(at) + ", size=" + std::to_string(sectors) + ", type=" + type +
             ", uuid=" + guid_from_seed(seed + "/" + id) + ", name=\"" + name + "\"\n";
        at += sectors;
    };
    part(esp_sectors, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "esp", update::kEspPartName);
    // The discoverable partitions' "root (x86-64)" type: tools that know it show
    // the slots as roots.
    for (char slot : {'a', 'b'})
        part(slot_sectors, "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709", std::string("root-") + slot,
             update::slot_part_name(slot));
    if (data_sectors) part(data_sectors, "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "data", data_label);
    // PID 1's log of the last two boots (init/boot_log.hpp), raw, blank at first.
    part(kBootLogBytes / kSector, "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "boot-log", update::kBootLogPartName);
    return s;
}

std::vector<OutputFile> write_ab_disk(const Tree& tree, const OutputOptions& o, const AbSettings& ab) {
    if (!o.boot_tree) throw Error("raw-efi-ab: no boot initrd contents (internal error)", EINVAL);
    for (const std::string& f : {o.systemd_boot_efi, o.uki_stub})
        if (!fs::exists(f)) throw Error("raw-efi-ab: `" + f + "` is missing (apt-get install systemd-boot-efi)", ENOENT);
    std::string out = o.prefix + "-ab-efi.img", bundle = o.prefix + "-update.bundle";
    std::string stage = out + ".d";
    run_checked({"rm", "-rf", "--", stage});
    fs::mkdir_p(stage + "/esp");
    struct Cleanup {
        std::string dir;
        ~Cleanup() {
            try {
                run_process({"rm", "-rf", "--", dir});
            } catch (...) {
            }
        }
    } cleanup{stage};

    // The slot: squashfs + dm-verity tree, its root hash on the slot's command line.
    std::string slot = stage + "/slot.img";
    write_squashfs(tree, slot, o.mtime, o.compression);
    VerityTree vt = append_verity_tree(slot);
    std::uint64_t slot_used = fs::file_size(slot);
    if (slot_used > ab.slot_bytes)
        throw Error("raw-efi-ab: the root with its verity tree is " + std::to_string(slot_used) +
                        " bytes, more than update.slotSize (" + std::to_string(ab.slot_bytes) + ")",
                    EFBIG);
    std::string cmdline = o.cmdline + " " + verity_cmdline(vt);

    // One unified kernel image per slot: the same kernel, boot initrd and
    // command line but for berth.slot, signed when a key is given (the
    // signature then covers the root hash).
    std::string esp_dir = stage + "/esp";
    std::string initrd = esp_dir + "/initrd.img";
    CpioOptions copts;
    copts.mtime = o.mtime;
    copts.zstd = o.compression == "zstd";
    write_cpio(*o.boot_tree, initrd, copts);
    std::optional<SigningKey> key;
    if (!o.signing_key.empty() || !o.signing_cert.empty()) key = SigningKey{o.signing_key, o.signing_cert};
    std::string uki[2];
    for (char slot_name : {'a', 'b'}) {
        UkiParts p = ab_uki_parts(o, ab, slot_name, cmdline);
        p.initrd = initrd;
        std::string& f = uki[slot_name - 'a'];
        f = esp_dir + "/uki-" + slot_name + ".efi";
        write_uki(p, f, o.mtime, key);
    }
    // Under Secure Boot systemd-boot must pass the firmware's check too: signed with the same key.
    std::string loader = esp_dir + "/BOOTX64.EFI";
    if (key) sign_efi(o.systemd_boot_efi, loader, *key);
    else fs::write_file(loader, fs::read_file(o.systemd_boot_efi), 0644);
    update::BootEntryName first{1, 'a', -1, -1};
    // name in the ESP -> contents, in the order they are added (fixed)
    std::vector<std::pair<std::string, std::string>> add = {
        {"EFI/BOOT/BOOTX64.EFI", fs::read_file(loader)},
        // The first entry in systemd-boot's order that matches, which is the newest
        // install that still has tries left or is committed.
        {"loader/loader.conf", "timeout 0\ndefault berth-*\neditor no\n"},
        {std::string(update::kBootEntryDir) + "/" + update::boot_entry_file(first), fs::read_file(uki[0])},
    };
    std::string all;
    for (const auto& [name, data] : add) all += name + '\0' + digest::sha256_hex(data) + '\0';
    std::string seed = digest::sha256_hex(all + digest::sha256_hex(fs::read_file(slot)));
    std::uint64_t esp_bytes = ab_esp_bytes(std::max(fs::file_size(uki[0]), fs::file_size(uki[1])));
    std::string esp = stage + "/esp.img";
    ::setenv("SOURCE_DATE_EPOCH", std::to_string(o.mtime).c_str(), 1);
    ::setenv("MTOOLS_SKIP_CHECK", "1", 1);
    tool({"mkfs.vfat", "--invariant", "-i", seed.substr(0, 8), "-n", update::kEspPartName, "-h",
          std::to_string(kFirstSector), "-C", esp, std::to_string(esp_bytes / 1024)},
         "dosfstools");
    for (const char* dir : {"::/EFI", "::/EFI/BOOT", "::/EFI/Linux", "::/loader"})
        tool({"mmd", "-i", esp, dir}, "mtools");
    int n = 0;
    for (const auto& [name, data] : add) {
        std::string f = esp_dir + "/f" + std::to_string(n++);
        fs::write_file(f, data, 0644);
        fs::set_mtime(f, o.mtime);
        tool({"mcopy", "-m", "-i", esp, f, "::/" + name}, "mtools");
    }

    std::uint64_t data_bytes = round_up(o.data_partition_bytes ? o.data_partition_bytes : kDefaultDataBytes, kMiB);
    std::uint64_t total = kMiB + esp_bytes + 2 * ab.slot_bytes + data_bytes + kBootLogBytes + kMiB;
    std::string tmp = out + ".tmp";
    {
        fs::Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!fd) throw_errno("create `" + tmp + "`");
        if (::ftruncate(fd.get(), off_t(total)) < 0) throw_errno("size `" + tmp + "`");
    }
    std::string script = stage + "/gpt.sfdisk";
    fs::write_file(script, ab_gpt_script(seed, esp_bytes / kSector, ab.slot_bytes / kSector, data_bytes / kSector,
                                         o.data_partition_label),
                   0644);
    tool({"sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", "--wipe", "never", tmp}, "fdisk", script);
    {
        fs::Fd fd(::open(tmp.c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd) throw_errno("open `" + tmp + "`");
        copy_into(fd.get(), esp, kMiB, tmp);
        copy_into(fd.get(), slot, kMiB + esp_bytes, tmp);
        if (::fsync(fd.get()) < 0) throw_errno("fsync `" + tmp + "`");
    }
    fs::set_mtime(tmp, o.mtime);
    if (::rename(tmp.c_str(), out.c_str()) < 0) throw_errno("rename `" + tmp + "` to `" + out + "`");

    BundleInputs in{ab.name, ab.arch, ab.version, uki[0], uki[1], slot, ab.private_key, o.mtime};
    std::uint64_t bundle_bytes = write_update_bundle(bundle, in);
    return {{"disk", out, fs::file_size(out), 0}, {"bundle", bundle, bundle_bytes, 0}};
}

}  // namespace berth::builder
