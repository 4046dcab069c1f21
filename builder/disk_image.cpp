#include "builder/disk_image.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "builder/initrd_writer.hpp"
#include "builder/process.hpp"
#include "builder/uki.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/sha256.hpp"

namespace berth::builder {

namespace {

constexpr std::uint64_t kMiB = 1 << 20;
constexpr std::uint64_t kSector = 512;
// The ESP starts at 1 MiB and the backup GPT gets the last MiB, so every
// partition is MiB-aligned and the whole disk is a whole number of MiB (Azure).
constexpr std::uint64_t kEspStartSector = kMiB / kSector;

std::uint64_t round_up(std::uint64_t n, std::uint64_t unit) { return (n + unit - 1) / unit * unit; }

void tool(const std::string& format, const std::vector<std::string>& argv, const std::string& package,
          const std::string& stdin_path = "") {
    ProcessResult r;
    try {
        r = run_process(argv, "", stdin_path);
    } catch (const Error& e) {
        throw Error(format + ": " + e.what() + " (apt-get install " + package + ")", e.code());
    }
    if (r.exit_code != 0)
        throw Error(format + ": `" + quote_command(argv) + "` failed (exit " + std::to_string(r.exit_code) +
                        "): " + fs::trim(r.err.empty() ? r.out : r.err),
                    EIO);
}

void pwrite_all(int fd, const std::string& data, std::uint64_t offset, const std::string& path) {
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, off_t(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("write `" + path + "`");
        done += std::size_t(n);
    }
}

// Removes a staging directory however the output ends.
struct StageDir {
    std::string path;
    explicit StageDir(std::string p) : path(std::move(p)) {
        run_checked({"rm", "-rf", "--", path});
        fs::mkdir_p(path);
    }
    ~StageDir() {
        try {
            run_process({"rm", "-rf", "--", path});
        } catch (...) {
        }
    }
    StageDir(const StageDir&) = delete;
    StageDir& operator=(const StageDir&) = delete;
};

struct Esp {
    std::string image;  // the FAT file system
    std::string seed;   // sha256 of what it holds: the source of every id
    std::uint64_t initrd_raw_bytes = 0;
};

// The EFI system partition as a file: both boot loaders, the kernel, the initrd.
Esp make_esp(const std::string& format, const Tree& tree, const OutputOptions& o, const std::string& stage) {
    for (const auto& [f, pkg] : {std::pair{o.systemd_boot_efi, "systemd-boot-efi"},
                                 std::pair{o.syslinux_gpt_mbr, "syslinux-common"}})
        if (!fs::exists(f)) throw Error(format + ": `" + f + "` is missing (apt-get install " + pkg + ")", ENOENT);
    std::string files = stage + "/esp";
    fs::mkdir_p(files);
    Esp esp;
    // name in the ESP -> staged file, in the order they are added (fixed, so the
    // FAT's directory entries and clusters are the same every time)
    std::vector<std::pair<std::string, std::string>> add;
    fs::write_file(files + "/kernel", fs::read_file(o.kernel_image), 0644);
    add.push_back({"kernel", files + "/kernel"});
    CpioOptions copts;
    copts.mtime = o.mtime;
    copts.zstd = o.compression == "zstd";
    esp.initrd_raw_bytes = write_cpio(tree, files + "/initrd.img", copts).uncompressed_bytes;
    add.push_back({"initrd.img", files + "/initrd.img"});
    // BIOS: syslinux's boot sector loads ldlinux.sys, which reads syslinux.cfg.
    fs::write_file(files + "/syslinux.cfg",
                   "default berth\nprompt 0\ntimeout 0\nlabel berth\n  kernel /kernel\n  initrd /initrd.img\n"
                   "  append " + o.cmdline + "\n",
                   0644);
    add.push_back({"syslinux.cfg", files + "/syslinux.cfg"});
    // UEFI: the removable-media path, so no boot variable is needed; systemd-boot
    // boots its only entry at once.
    // Booting a signed UKI, systemd-boot must pass Secure Boot too: signed with the same key.
    if (!o.uki.empty() && !o.signing_key.empty())
        sign_efi(o.systemd_boot_efi, files + "/BOOTX64.EFI", {o.signing_key, o.signing_cert});
    else
        fs::write_file(files + "/BOOTX64.EFI", fs::read_file(o.systemd_boot_efi), 0644);
    add.push_back({"EFI/BOOT/BOOTX64.EFI", files + "/BOOTX64.EFI"});
    if (o.uki.empty()) {
        fs::write_file(files + "/loader.conf", "timeout 0\ndefault berth.conf\neditor no\n", 0644);
        add.push_back({"loader/loader.conf", files + "/loader.conf"});
        fs::write_file(files + "/berth.conf",
                       "title berth\nlinux /kernel\ninitrd /initrd.img\noptions " + o.cmdline + "\n", 0644);
        add.push_back({"loader/entries/berth.conf", files + "/berth.conf"});
    } else {
        // The UKI as systemd-boot's type #2 entry (found in EFI/Linux, its id the
        // file name) and no entry with a separate kernel and command line: under
        // Secure Boot the only thing to boot is the signed image.
        fs::write_file(files + "/loader.conf", "timeout 0\ndefault berth.efi\neditor no\n", 0644);
        add.push_back({"loader/loader.conf", files + "/loader.conf"});
        fs::write_file(files + "/berth.efi", fs::read_file(o.uki), 0644);
        add.push_back({"EFI/Linux/berth.efi", files + "/berth.efi"});
    }

    std::string all;
    std::uint64_t content = 0;
    for (const auto& [name, path] : add) {
        fs::set_mtime(path, o.mtime);
        std::string data = fs::read_file(path);
        content += round_up(data.size(), 4096);
        all += name + '\0' + digest::sha256_hex(data) + '\0';
    }
    esp.seed = digest::sha256_hex(all);
    // Room for the FAT's own tables and ldlinux.sys/.c32, then whole MiB.
    std::uint64_t bytes = round_up(content + content / 20 + 2 * kMiB, kMiB);
    esp.image = stage + "/esp.img";
    // mtools and syslinux date what they write from SOURCE_DATE_EPOCH; mkfs.vfat's
    // --invariant fixes its own dates. The hidden-sector count is the partition's
    // start, which the BIOS boot sector adds to the sectors it reads.
    ::setenv("SOURCE_DATE_EPOCH", std::to_string(o.mtime).c_str(), 1);
    ::setenv("MTOOLS_SKIP_CHECK", "1", 1);
    tool(format, {"mkfs.vfat", "--invariant", "-i", esp.seed.substr(0, 8), "-n", "BERTH-ESP", "-h",
                  std::to_string(kEspStartSector), "-C", esp.image, std::to_string(bytes / 1024)},
         "dosfstools");
    for (const char* dir : {"::/EFI", "::/EFI/BOOT", "::/loader", "::/loader/entries"})
        tool(format, {"mmd", "-i", esp.image, dir}, "mtools");
    if (!o.uki.empty()) tool(format, {"mmd", "-i", esp.image, "::/EFI/Linux"}, "mtools");
    for (const auto& [name, path] : add) tool(format, {"mcopy", "-m", "-i", esp.image, path, "::/" + name}, "mtools");
    tool(format, {"syslinux", "--install", esp.image}, "syslinux");
    return esp;
}

// The hybrid disk as a raw file at `path`.
void make_raw_disk(const std::string& format, const Esp& esp, const OutputOptions& o, const std::string& path,
                   const std::string& stage) {
    std::uint64_t esp_bytes = fs::file_size(esp.image);
    std::uint64_t data_bytes = round_up(o.data_partition_bytes, kMiB);
    std::uint64_t total = kMiB + esp_bytes + data_bytes + kMiB;
    std::string tmp = path + ".tmp";
    {
        fs::Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!fd) throw_errno("create `" + tmp + "`");
        if (::ftruncate(fd.get(), off_t(total)) < 0) throw_errno("size `" + tmp + "`");
    }
    std::string script = stage + "/gpt.sfdisk";
    fs::write_file(script, gpt_script(esp.seed, esp_bytes / kSector, data_bytes / kSector, o.data_partition_label),
                   0644);
    tool(format, {"sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", "--wipe", "never", tmp}, "fdisk", script);
    {
        fs::Fd fd(::open(tmp.c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd) throw_errno("open `" + tmp + "`");
        pwrite_all(fd.get(), fs::read_file(esp.image), kEspStartSector * kSector, tmp);
        // The boot code only: the disk signature and the protective partition
        // entry sfdisk wrote stay.
        std::string mbr = fs::read_file(o.syslinux_gpt_mbr);
        if (mbr.size() < 440) throw Error(format + ": `" + o.syslinux_gpt_mbr + "` is not a boot sector", EINVAL);
        pwrite_all(fd.get(), mbr.substr(0, 440), 0, tmp);
        if (::fsync(fd.get()) < 0) throw_errno("fsync `" + tmp + "`");
    }
    fs::set_mtime(tmp, o.mtime);
    if (::rename(tmp.c_str(), path.c_str()) < 0) throw_errno("rename `" + tmp + "` to `" + path + "`");
}

std::string iso_date(std::int64_t mtime) {
    char date[32];
    time_t t = time_t(mtime);
    struct tm tm;
    gmtime_r(&t, &tm);
    std::strftime(date, sizeof date, "%Y%m%d%H%M%S00", &tm);
    return date;
}

void make_iso_efi(const Esp& esp, const OutputOptions& o, const std::string& iso, const std::string& stage) {
    std::string root = stage + "/iso";
    fs::mkdir_p(root);
    if (::rename(esp.image.c_str(), (root + "/efi.img").c_str()) < 0) throw_errno("rename `" + esp.image + "`");
    fs::set_mtime(root + "/efi.img", o.mtime);
    fs::set_mtime(root, o.mtime);
    std::string date = iso_date(o.mtime), tmp = iso + ".tmp";
    ::setenv("SOURCE_DATE_EPOCH", std::to_string(o.mtime).c_str(), 1);
    tool("iso-efi",
         {"xorriso", "-as", "mkisofs", "-quiet", "-o", tmp, "-V", "BERTH", "--modification-date=" + date,
          // El Torito for UEFI: the firmware loads EFI/BOOT/BOOTX64.EFI from this FAT image
          "-e", "efi.img", "-no-emul-boot", "-r", "--set_all_file_dates", date, root, "--", "-alter_date_r", "b",
          date, "/", "--", "-alter_date_r", "c", date, "/", "--"},
         "xorriso");
    if (::rename(tmp.c_str(), iso.c_str()) < 0) throw_errno("rename `" + tmp + "` to `" + iso + "`");
}

void convert(const std::string& format, const std::string& raw, const std::string& out,
             const std::vector<std::string>& how) {
    std::string tmp = out + ".tmp";
    std::vector<std::string> argv = {"qemu-img", "convert", "-q", "-f", "raw"};
    argv.insert(argv.end(), how.begin(), how.end());
    argv.push_back(raw);
    argv.push_back(tmp);
    tool(format, argv, "qemu-utils");
    if (::rename(tmp.c_str(), out.c_str()) < 0) throw_errno("rename `" + tmp + "` to `" + out + "`");
}

void make_vhd(const std::string& raw, const std::string& out, const OutputOptions& o, const std::string& seed) {
    // Fixed (the raw disk and a footer), of exactly the raw disk's size: Azure
    // takes only fixed VHDs of a whole number of MiB.
    convert("vhd", raw, out, {"-O", "vpc", "-o", "subformat=fixed,force_size=on"});
    fs::Fd fd(::open(out.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd) throw_errno("open `" + out + "`");
    std::uint64_t size = fs::file_size(out);
    if (size < 512 || size != fs::file_size(raw) + 512)
        throw Error("vhd: `" + out + "` is not the raw disk and a 512-byte footer", EINVAL);
    std::string footer(512, '\0');
    if (::pread(fd.get(), footer.data(), 512, off_t(size - 512)) != 512) throw_errno("read `" + out + "`");
    fix_vhd_footer(footer, o.mtime, seed);
    pwrite_all(fd.get(), footer, size - 512, out);
}

void make_gcp(const std::string& raw, const std::string& out, const OutputOptions& o, const std::string& stage) {
    // GCP imports a gzip'd tar holding one file, disk.raw, in GNU's old format.
    std::string dir = stage + "/gcp";
    fs::mkdir_p(dir);
    if (::rename(raw.c_str(), (dir + "/disk.raw").c_str()) < 0) throw_errno("rename `" + raw + "`");
    std::string tar = stage + "/disk.tar";
    tool("gcp",
         {"tar", "--format=oldgnu", "--owner=0", "--group=0", "--numeric-owner", "--mode=0644", "--mtime=@" + std::to_string(o.mtime),
          "-C", dir, "-cf", tar, "disk.raw"},
         "tar");
    // -n: no name and no time in the gzip header
    tool("gcp", {"gzip", "-n", "-9", "-f", tar}, "gzip");
    fs::set_mtime(tar + ".gz", o.mtime);
    if (::rename((tar + ".gz").c_str(), out.c_str()) < 0) throw_errno("rename to `" + out + "`");
}

}  // namespace

const std::vector<std::string>& disk_formats() {
    static const std::vector<std::string> f = {"raw-bios", "raw-efi", "qcow2-bios", "qcow2-efi",
                                               "vhd",      "gcp",     "aws",        "iso-efi"};
    return f;
}

bool is_disk_format(const std::string& format) {
    const auto& all = disk_formats();
    return std::find(all.begin(), all.end(), format) != all.end();
}

std::string disk_format_suffix(const std::string& format) {
    if (format == "raw-bios") return "-bios.img";
    if (format == "raw-efi") return "-efi.img";
    if (format == "qcow2-bios") return ".qcow2";
    if (format == "qcow2-efi") return "-efi.qcow2";
    if (format == "vhd") return ".vhd";
    if (format == "gcp") return ".img.tar.gz";
    if (format == "aws") return ".raw";
    if (format == "iso-efi") return "-efi.iso";
    throw Error("unknown disk format `" + format + "`", EINVAL);
}

std::string guid_from_seed(const std::string& seed) {
    std::string h = digest::sha256_hex(seed).substr(0, 32);
    h[12] = '4';                                             // version 4
    h[16] = "89ab"[std::stoi(h.substr(16, 1), nullptr, 16) & 3];  // RFC 4122 variant
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" +
           h.substr(20, 12);
}

std::string gpt_script(const std::string& seed, std::uint64_t esp_sectors, std::uint64_t data_sectors,
                       const std::string& data_label) {
    std::string s = "label: gpt\nlabel-id: " + guid_from_seed(seed + "/disk") + "\nfirst-lba: " +
                    std::to_string(kEspStartSector) + "\n";
    s += "start=" + std::to_string(kEspStartSector) + ", size=" + std::to_string(esp_sectors) +
         ", type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=" + guid_from_seed(seed + "/esp") +
         ", name=\"BERTH-ESP\", attrs=\"LegacyBIOSBootable\"\n";
    if (data_sectors)
        s += "start=" + std::to_string(kEspStartSector + esp_sectors) + ", size=" + std::to_string(data_sectors) +
             ", type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=" + guid_from_seed(seed + "/data") + ", name=\"" +
             data_label + "\"\n";
    return s;
}

void fix_vhd_footer(std::string& footer, std::int64_t mtime, const std::string& seed) {
    if (footer.size() != 512 || footer.compare(0, 8, "conectix") != 0)
        throw Error("vhd: the image has no VHD footer", EINVAL);
    auto put32 = [&](std::size_t at, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) footer[at + std::size_t(i)] = char((v >> (24 - 8 * i)) & 0xff);
    };
    // Seconds since 2000-01-01 00:00 UTC.
    std::int64_t since2000 = mtime - 946684800;
    put32(24, std::uint32_t(std::clamp<std::int64_t>(since2000, 0, 0xffffffff)));
    std::string id = digest::sha256_hex(seed + "/vhd");
    for (std::size_t i = 0; i < 16; ++i) footer[68 + i] = char(std::stoi(id.substr(2 * i, 2), nullptr, 16));
    put32(64, 0);
    std::uint32_t sum = 0;
    for (unsigned char c : footer) sum += c;
    put32(64, ~sum);
}

std::vector<OutputFile> write_disk_output(const std::string& format, const Tree& tree, const OutputOptions& o) {
    std::string out = o.prefix + disk_format_suffix(format);
    StageDir stage(out + ".d");
    Esp esp = make_esp(format, tree, o, stage.path);
    if (format == "iso-efi") {
        make_iso_efi(esp, o, out, stage.path);
        fs::set_mtime(out, o.mtime);
        return {{"iso", out, fs::file_size(out), esp.initrd_raw_bytes}};
    }
    std::string raw = stage.path + "/disk.raw";
    make_raw_disk(format, esp, o, raw, stage.path);
    std::uint64_t raw_bytes = fs::file_size(raw);
    if (format == "qcow2-bios" || format == "qcow2-efi") {
        convert(format, raw, out, {"-O", "qcow2"});
    } else if (format == "vhd") {
        make_vhd(raw, out, o, esp.seed);
    } else if (format == "gcp") {
        make_gcp(raw, out, o, stage.path);
    } else if (::rename(raw.c_str(), out.c_str()) < 0) {
        throw_errno("rename `" + raw + "` to `" + out + "`");
    }
    fs::set_mtime(out, o.mtime);
    // the disk's own size, when the file is a compressed form of it
    bool compressed = format == "gcp" || format == "qcow2-bios" || format == "qcow2-efi";
    return {{"disk", out, fs::file_size(out), compressed ? raw_bytes : 0}};
}

}  // namespace berth::builder
