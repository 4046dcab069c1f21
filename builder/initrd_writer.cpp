#include "builder/initrd_writer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::builder {

namespace {

constexpr std::uint64_t kNewcHeader = 110;

std::uint64_t pad4(std::uint64_t n) { return (n + 3) & ~std::uint64_t(3); }

std::string human(std::uint64_t n) {
    char buf[32];
    if (n >= (std::uint64_t(1) << 30)) std::snprintf(buf, sizeof buf, "%.1f GiB", double(n) / double(1 << 30));
    else if (n >= (1 << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", double(n) / double(1 << 20));
    else std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(n));
    return buf;
}

// Per-entry archive facts derived from the sorted tree.
struct Planned {
    const std::string* path;
    const TreeEntry* entry;
    std::uint32_t ino;
    std::uint32_t nlink;
    std::uint64_t data_size;  // 0 for all but the last link of a hard-link group
};

std::vector<Planned> plan(const Tree& tree) {
    std::vector<Planned> out;
    out.reserve(tree.size());
    // Hard-link groups: (dev, ino) -> indices into out.
    std::map<std::pair<dev_t, ino_t>, std::vector<std::size_t>> groups;
    std::uint32_t next_ino = 1;  // the writer's own numbering: stable across hosts
    for (const auto& [path, e] : tree.entries()) {
        Planned p{&path, &e, 0, 1, 0};
        switch (e.kind) {
            case TreeEntry::Kind::directory: p.nlink = 2; break;
            case TreeEntry::Kind::host_file:
            case TreeEntry::Kind::bytes_file: p.data_size = e.size; break;
            case TreeEntry::Kind::symlink: p.data_size = e.data.size(); break;
            case TreeEntry::Kind::char_device: break;
        }
        bool regular = e.kind == TreeEntry::Kind::host_file || e.kind == TreeEntry::Kind::bytes_file;
        if (regular && e.host_ino != 0) {
            auto& g = groups[{e.host_dev, e.host_ino}];
            p.ino = g.empty() ? next_ino++ : out[g.front()].ino;
            g.push_back(out.size());
        } else {
            p.ino = next_ino++;
        }
        out.push_back(p);
    }
    for (auto& [key, members] : groups) {
        for (std::size_t i = 0; i < members.size(); ++i) {
            Planned& p = out[members[i]];
            p.nlink = std::uint32_t(members.size());
            if (i + 1 < members.size()) p.data_size = 0;
        }
    }
    return out;
}

std::uint64_t planned_size(const std::vector<Planned>& planned) {
    std::uint64_t total = 0;
    for (const auto& p : planned)
        total += pad4(kNewcHeader + p.path->size() + 1) + pad4(p.data_size);
    total += pad4(kNewcHeader + sizeof("TRAILER!!!"));
    return total;
}

struct Sink {
    int fd;
    std::uint64_t written = 0;
};

la_ssize_t sink_write(struct archive* a, void* client, const void* buf, size_t len) {
    auto* s = static_cast<Sink*>(client);
    const char* p = static_cast<const char*>(buf);
    size_t left = len;
    while (left > 0) {
        ssize_t n = ::write(s->fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            archive_set_error(a, errno, "write: %s", std::strerror(errno));
            return -1;
        }
        p += n;
        left -= size_t(n);
    }
    s->written += len;
    return la_ssize_t(len);
}

struct ArchiveDeleter {
    void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
    void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};

[[noreturn]] void fail(struct archive* a, const std::string& what) {
    const char* msg = archive_error_string(a);
    throw Error(what + ": " + (msg ? msg : "unknown libarchive error"), archive_errno(a));
}

void copy_host_data(struct archive* a, const Planned& p) {
    const std::string& hp = p.entry->host_path;
    fs::Fd fd(::open(hp.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open `" + hp + "`");
    std::vector<char> buf(1 << 16);
    std::uint64_t total = 0;
    for (;;) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("read `" + hp + "`");
        }
        if (n == 0) break;
        total += std::uint64_t(n);
        if (total > p.data_size) break;
        if (archive_write_data(a, buf.data(), size_t(n)) < 0) fail(a, "write `" + *p.path + "`");
    }
    if (total != p.data_size)
        throw Error("`" + hp + "` changed size while the archive was being written", EAGAIN);
}

}  // namespace

void set_archive_file_type(archive_entry* ae, const TreeEntry& e) {
    switch (e.kind) {
        case TreeEntry::Kind::directory: archive_entry_set_filetype(ae, AE_IFDIR); break;
        case TreeEntry::Kind::host_file:
        case TreeEntry::Kind::bytes_file: archive_entry_set_filetype(ae, AE_IFREG); break;
        case TreeEntry::Kind::symlink:
            archive_entry_set_filetype(ae, AE_IFLNK);
            archive_entry_copy_symlink(ae, e.data.c_str());
            break;
        case TreeEntry::Kind::char_device:
            archive_entry_set_filetype(ae, AE_IFCHR);
            archive_entry_set_rdevmajor(ae, e.rdev_major);
            archive_entry_set_rdevminor(ae, e.rdev_minor);
            break;
    }
}

std::int64_t source_date_epoch() {
    const char* s = std::getenv("SOURCE_DATE_EPOCH");
    if (!s || !*s) return 0;
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0 || v > 0xffffffffLL)
        throw Error(std::string("SOURCE_DATE_EPOCH=`") + s + "` is not a Unix time in seconds", EINVAL);
    return v;
}

std::uint64_t newc_size(const Tree& tree) { return planned_size(plan(tree)); }

ArchiveStats write_cpio(const Tree& tree, int fd, const CpioOptions& opts) {
    std::vector<Planned> planned = plan(tree);
    std::uint64_t total = planned_size(planned);
    if (total > opts.max_size)
        throw Error("the initramfs would be " + human(total) + ", more than the " +
                        human(opts.max_size) + " a newc cpio archive can hold",
                    EFBIG);
    for (const auto& p : planned)
        if (p.data_size > 0xffffffffULL)
            throw Error("`" + *p.path + "` is " + human(p.data_size) +
                            ": newc cpio cannot hold files of 4 GiB or more",
                        EFBIG);

    std::unique_ptr<struct archive, ArchiveDeleter> a(archive_write_new());
    if (!a) throw Error("archive_write_new failed", ENOMEM);
    if (archive_write_set_format_cpio_newc(a.get()) != ARCHIVE_OK) fail(a.get(), "cpio newc");
    if (opts.zstd) {
        if (archive_write_add_filter_zstd(a.get()) != ARCHIVE_OK) fail(a.get(), "zstd");
        std::string o = "zstd:compression-level=" + std::to_string(std::min(opts.compression_level * 2, 19));
        if (archive_write_set_options(a.get(), o.c_str()) != ARCHIVE_OK) fail(a.get(), "zstd options");
    } else if (opts.gzip) {
        if (archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK) fail(a.get(), "gzip");
        std::string o = "gzip:!timestamp,gzip:compression-level=" + std::to_string(opts.compression_level);
        if (archive_write_set_options(a.get(), o.c_str()) != ARCHIVE_OK) fail(a.get(), "gzip options");
    }
    archive_write_set_bytes_per_block(a.get(), 0);  // no block padding; the stream is exact
    Sink sink{fd};
    if (archive_write_open(a.get(), &sink, nullptr, sink_write, nullptr) != ARCHIVE_OK)
        fail(a.get(), "open archive");

    std::unique_ptr<struct archive_entry, EntryDeleter> ae(archive_entry_new());
    for (const auto& p : planned) {
        const TreeEntry& e = *p.entry;
        archive_entry_clear(ae.get());
        archive_entry_copy_pathname(ae.get(), p.path->c_str());
        archive_entry_set_perm(ae.get(), e.mode & 07777);
        archive_entry_set_uid(ae.get(), e.uid);
        archive_entry_set_gid(ae.get(), e.gid);
        archive_entry_set_mtime(ae.get(), opts.mtime, 0);
        archive_entry_set_dev(ae.get(), 0);
        archive_entry_set_ino64(ae.get(), p.ino);
        archive_entry_set_nlink(ae.get(), p.nlink);
        archive_entry_set_size(ae.get(), std::int64_t(p.data_size));
        set_archive_file_type(ae.get(), e);
        if (archive_write_header(a.get(), ae.get()) != ARCHIVE_OK)
            fail(a.get(), "write header of `" + *p.path + "`");
        if (p.data_size == 0 || e.kind == TreeEntry::Kind::symlink) continue;
        if (e.kind == TreeEntry::Kind::bytes_file) {
            if (archive_write_data(a.get(), e.data.data(), e.data.size()) < 0)
                fail(a.get(), "write `" + *p.path + "`");
        } else {
            copy_host_data(a.get(), p);
        }
    }
    if (archive_write_close(a.get()) != ARCHIVE_OK) fail(a.get(), "close archive");
    ArchiveStats st;
    st.entries = planned.size();
    st.uncompressed_bytes = total;
    st.written_bytes = sink.written;
    return st;
}

ArchiveStats write_cpio(const Tree& tree, const std::string& path, const CpioOptions& opts) {
    std::string tmp = path + ".tmp";
    fs::Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) throw_errno("create `" + tmp + "`");
    try {
        ArchiveStats st = write_cpio(tree, fd.get(), opts);
        if (::fsync(fd.get()) < 0 && errno != EINVAL) throw_errno("fsync `" + tmp + "`");
        fd.reset();
        if (::rename(tmp.c_str(), path.c_str()) < 0) throw_errno("rename `" + tmp + "` to `" + path + "`");
        return st;
    } catch (...) {
        ::unlink(tmp.c_str());
        throw;
    }
}

}  // namespace berth::builder
