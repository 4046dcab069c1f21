#include "builder/outputs.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <map>
#include <memory>

#include "builder/disk_image.hpp"
#include "builder/initrd_writer.hpp"
#include "builder/process.hpp"
#include "builder/uki.hpp"
#include "builder/verity.hpp"
#include "builder/arch.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::builder {

namespace {

void write_atomic(const std::string& path, const std::string& data, mode_t mode = 0644) {
    std::string tmp = path + ".tmp";
    fs::write_file(tmp, data, mode);
    if (::rename(tmp.c_str(), path.c_str()) < 0) throw_errno("rename `" + tmp + "` to `" + path + "`");
}

std::vector<OutputFile> kernel_initrd(const Tree& tree, const OutputOptions& o) {
    std::vector<OutputFile> out;
    std::string kernel = o.prefix + "-kernel", initrd = o.prefix + "-initrd.img", cmdline = o.prefix + "-cmdline";
    write_atomic(kernel, fs::read_file(o.kernel_image));
    out.push_back({"kernel", kernel, fs::file_size(kernel), 0});
    CpioOptions copts;
    copts.mtime = o.mtime;
    copts.zstd = o.compression == "zstd";
    ArchiveStats st = write_cpio(tree, initrd, copts);
    out.push_back({"initrd", initrd, st.written_bytes, st.uncompressed_bytes});
    write_atomic(cmdline, o.cmdline);
    out.push_back({"cmdline", cmdline, o.cmdline.size(), 0});
    return out;
}

// The root on a squashfs: the kernel, a small initrd whose /init finds and mounts
// the squashfs (the marker etc/berth/squashfs-root tells it to), and the image.
std::vector<OutputFile> kernel_squashfs(const Tree& tree, const OutputOptions& o) {
    if (!o.boot_tree) throw Error("kernel+squashfs: no boot initrd contents (internal error)", EINVAL);
    std::vector<OutputFile> out;
    std::string kernel = o.prefix + "-kernel", initrd = o.prefix + "-squashfs-initrd.img",
                image = o.prefix + "-squashfs.img", cmdline = o.prefix + "-cmdline";
    write_atomic(kernel, fs::read_file(o.kernel_image));
    out.push_back({"kernel", kernel, fs::file_size(kernel), 0});
    CpioOptions copts;
    copts.mtime = o.mtime;
    copts.zstd = o.compression == "zstd";
    ArchiveStats st = write_cpio(*o.boot_tree, initrd, copts);
    out.push_back({"initrd", initrd, st.written_bytes, st.uncompressed_bytes});
    std::uint64_t image_bytes = write_squashfs(tree, image, o.mtime, o.compression);
    std::string line = o.cmdline;
    if (o.verity) {  // the hash tree after the squashfs, its root hash on the command line
        line += " " + verity_cmdline(append_verity_tree(image));
        fs::set_mtime(image, o.mtime);
        image_bytes = fs::file_size(image);
    }
    out.push_back({"squashfs", image, image_bytes, 0});
    check_cmdline_length(line, "the kernel command line with the verified root");
    write_atomic(cmdline, line);
    out.push_back({"cmdline", cmdline, line.size(), 0});
    return out;
}

// A CD image: isolinux loads the kernel and initrd (BIOS El Torito, no emulation),
// with isohybrid MBR so the same file also boots as a disk.
std::vector<OutputFile> iso_bios(const Tree& tree, const OutputOptions& o) {
    std::string iso = o.prefix + ".iso";
    std::string stage = o.prefix + ".iso.d";
    for (const char* f : {"isolinux.bin", "isohdpfx.bin"})
        if (!fs::exists(o.isolinux_dir + "/" + f))
            throw Error("iso-bios: `" + o.isolinux_dir + "/" + f + "` is missing (apt-get install isolinux)", ENOENT);
    if (!fs::exists(o.syslinux_modules + "/ldlinux.c32"))
        throw Error("iso-bios: `" + o.syslinux_modules + "/ldlinux.c32` is missing (apt-get install syslinux-common)", ENOENT);
    run_checked({"rm", "-rf", stage});
    fs::mkdir_p(stage + "/isolinux");
    fs::mkdir_p(stage + "/boot");
    write_atomic(stage + "/isolinux/isolinux.bin", fs::read_file(o.isolinux_dir + "/isolinux.bin"));
    write_atomic(stage + "/isolinux/ldlinux.c32", fs::read_file(o.syslinux_modules + "/ldlinux.c32"));
    write_atomic(stage + "/isolinux/isolinux.cfg",
                 "default berth\nprompt 0\ntimeout 0\nlabel berth\n  kernel /boot/kernel\n  initrd /boot/initrd.img\n"
                 "  append " + o.cmdline + "\n");
    write_atomic(stage + "/boot/kernel", fs::read_file(o.kernel_image));
    CpioOptions copts;
    copts.mtime = o.mtime;
    copts.zstd = o.compression == "zstd";
    ArchiveStats st = write_cpio(tree, stage + "/boot/initrd.img", copts);
    for (const char* p : {"isolinux/isolinux.bin", "isolinux/ldlinux.c32", "isolinux/isolinux.cfg", "boot/kernel",
                          "boot/initrd.img", "isolinux", "boot", ""})
        fs::set_mtime(stage + "/" + p, o.mtime);
    std::string tmp = iso + ".tmp";
    // Fixed volume and file dates.
    char date[32];
    time_t t = time_t(o.mtime);
    struct tm tm;
    gmtime_r(&t, &tm);
    std::strftime(date, sizeof date, "%Y%m%d%H%M%S00", &tm);
    // xorriso derives every remaining date and the volume UUID from it.
    ::setenv("SOURCE_DATE_EPOCH", std::to_string(o.mtime).c_str(), 1);
    ProcessResult r = run_process({"xorriso", "-as", "mkisofs", "-quiet", "-o", tmp, "-V", "BERTH",
                                   "--modification-date=" + std::string(date), "-b", "isolinux/isolinux.bin",
                                   "-c", "isolinux/boot.cat", "--boot-catalog-hide", "-no-emul-boot", "-boot-load-size", "4",
                                   "-boot-info-table", "-isohybrid-mbr", o.isolinux_dir + "/isohdpfx.bin",
                                   // Rationalised Rock Ridge: owner 0 and r-x modes, so the
                                   // builder's uid and umask never reach the image bytes.
                                   "-r", "--set_all_file_dates", std::string(date), stage,
                                   // the root directory keeps the build time otherwise
                                   "--", "-alter_date_r", "b", std::string(date), "/", "--",
                                   "-alter_date_r", "c", std::string(date), "/", "--"});
    run_checked({"rm", "-rf", stage});
    if (r.exit_code != 0) {
        ::unlink(tmp.c_str());
        throw Error("iso-bios: xorriso failed (exit " + std::to_string(r.exit_code) + "): " + r.err, EIO);
    }
    if (::rename(tmp.c_str(), iso.c_str()) < 0) throw_errno("rename `" + tmp + "`");
    return {{"iso", iso, fs::file_size(iso), st.uncompressed_bytes}};
}

struct WriteDeleter {
    void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
    void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};

}  // namespace

std::uint64_t write_tar(const Tree& tree, const std::string& path, std::int64_t mtime) {
    std::string tmp = path + ".tmp";
    std::unique_ptr<struct archive, WriteDeleter> a(archive_write_new());
    archive_write_set_format_pax(a.get());  // SCHILY.xattr headers, read by GNU tar too
    archive_write_set_bytes_per_block(a.get(), 10240);
    if (archive_write_open_filename(a.get(), tmp.c_str()) != ARCHIVE_OK)
        throw Error("tar `" + tmp + "`: " + archive_error_string(a.get()), archive_errno(a.get()));
    auto fail = [&](const std::string& what) {
        std::string msg = "tar `" + path + "`: " + what + ": " + archive_error_string(a.get());
        ::unlink(tmp.c_str());
        throw Error(msg, EIO);
    };
    std::map<std::pair<dev_t, ino_t>, std::string> first_link;
    std::unique_ptr<struct archive_entry, EntryDeleter> ae(archive_entry_new());
    for (const auto& [p, e] : tree.entries()) {
        archive_entry_clear(ae.get());
        archive_entry_copy_pathname(ae.get(), p.c_str());
        archive_entry_set_perm(ae.get(), e.mode & 07777);
        archive_entry_set_uid(ae.get(), e.uid);
        archive_entry_set_gid(ae.get(), e.gid);
        archive_entry_set_mtime(ae.get(), mtime, 0);
        for (const auto& [k, v] : e.xattrs) archive_entry_xattr_add_entry(ae.get(), k.c_str(), v.data(), v.size());
        bool regular = e.kind == TreeEntry::Kind::host_file || e.kind == TreeEntry::Kind::bytes_file;
        if (regular && e.host_ino != 0) {
            auto [it, fresh] = first_link.emplace(std::make_pair(e.host_dev, e.host_ino), p);
            if (!fresh) {
                archive_entry_set_filetype(ae.get(), AE_IFREG);
                archive_entry_copy_hardlink(ae.get(), it->second.c_str());
                archive_entry_set_size(ae.get(), 0);
                if (archive_write_header(a.get(), ae.get()) != ARCHIVE_OK) fail("`" + p + "`");
                continue;
            }
        }
        set_archive_file_type(ae.get(), e);
        if (e.kind == TreeEntry::Kind::host_file || e.kind == TreeEntry::Kind::bytes_file)
            archive_entry_set_size(ae.get(), std::int64_t(e.size));
        if (archive_write_header(a.get(), ae.get()) != ARCHIVE_OK) fail("`" + p + "`");
        if (e.kind == TreeEntry::Kind::bytes_file) {
            if (!e.data.empty() && archive_write_data(a.get(), e.data.data(), e.data.size()) < 0) fail("`" + p + "`");
        } else if (e.kind == TreeEntry::Kind::host_file) {
            std::string data = fs::read_file(e.host_path);
            if (data.size() != e.size) fail("`" + e.host_path + "` changed size while the archive was being written");
            if (!data.empty() && archive_write_data(a.get(), data.data(), data.size()) < 0) fail("`" + p + "`");
        }
    }
    if (archive_write_close(a.get()) != ARCHIVE_OK) fail("close");
    if (::rename(tmp.c_str(), path.c_str()) < 0) throw_errno("rename `" + tmp + "` to `" + path + "`");
    return fs::file_size(path);
}

std::uint64_t write_squashfs(const Tree& tree, const std::string& path, std::int64_t mtime,
                             const std::string& compression) {
    std::string tar = path + ".tar.tmp", tmp = path + ".tmp";
    write_tar(tree, tar, mtime);
    std::string defaults = "uid=0,gid=0,mode=0755,mtime=" + std::to_string(mtime);
    // One compressor job: the block order, hence the bytes, never depends on timing.
    std::vector<std::string> argv = {"tar2sqfs", "--quiet", "--force", "--no-skip", "--num-jobs", "1",
                                     "--compressor", compression, "--defaults", defaults, tmp};
    ProcessResult r;
    try {
        r = run_process(argv, "", tar);
    } catch (const Error& e) {
        ::unlink(tar.c_str());
        throw Error(std::string("kernel+squashfs: ") + e.what() + " (tar2sqfs is in squashfs-tools-ng)", e.code());
    }
    ::unlink(tar.c_str());
    if (r.exit_code != 0) {
        ::unlink(tmp.c_str());
        throw Error("kernel+squashfs: `" + quote_command(argv) + "` failed (exit " + std::to_string(r.exit_code) +
                        "): " + fs::trim(r.err.empty() ? r.out : r.err),
                    EIO);
    }
    fs::set_mtime(tmp, mtime);
    if (::rename(tmp.c_str(), path.c_str()) < 0) throw_errno("rename `" + tmp + "` to `" + path + "`");
    return fs::file_size(path);
}

std::vector<OutputFile> write_output(const std::string& format, const Tree& tree, const OutputOptions& o) {
    if (o.compression != "gzip" && o.compression != "zstd")
        throw Error("unknown compression `" + o.compression + "` (gzip or zstd)", EINVAL);
    if (format == "kernel+initrd") return kernel_initrd(tree, o);
    if (format == "tar") {
        std::string path = o.prefix + ".tar";
        return {{"tar", path, write_tar(tree, path, o.mtime), 0}};
    }
    if (format == "iso-bios") return iso_bios(tree, o);
    if (format == "kernel+squashfs") return kernel_squashfs(tree, o);
    if (is_disk_format(format)) return write_disk_output(format, tree, o);
    if (format == "uki") return write_uki_output(tree, o);
    // The YAML and the command line accept only output_formats(); this is a bug guard.
    throw Error("unknown output format `" + format + "`", EINVAL);
}

}  // namespace berth::builder
