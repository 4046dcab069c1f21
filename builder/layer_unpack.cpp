#include "builder/layer_unpack.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <set>
#include <vector>

#include "common/error.hpp"
#include "common/log.hpp"

namespace berth::builder {

namespace {

struct ReadDeleter {
    void operator()(struct archive* a) const { archive_read_free(a); }
};

constexpr const char* kWhiteout = ".wh.";
constexpr const char* kOpaque = ".wh..wh..opq";
// Hard links made from layer entries get identities from this fake device so the
// archive writers keep them as links and never mistake them for host files.
constexpr dev_t kLayerDev = dev_t(-2);

std::vector<std::string> split(const std::string& p) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i <= p.size();) {
        std::size_t j = p.find('/', i);
        if (j == std::string::npos) j = p.size();
        if (j > i) out.push_back(p.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

// A layer entry name: relative, no "..". "./a//b" -> "a/b".
std::string clean_name(const std::string& raw, const std::string& what) {
    std::string out;
    for (const auto& part : split(raw)) {
        if (part == ".") continue;
        if (part == "..") throw Error(what + ": entry `" + raw + "` escapes the image root ('..')", EPERM);
        out += (out.empty() ? "" : "/") + part;
    }
    return out;
}

}  // namespace

std::string resolve_in_root(const Tree& tree, const std::string& root, const std::string& rel) {
    std::vector<std::string> todo = split(rel);
    std::vector<std::string> done;  // resolved components under root
    int hops = 0;
    auto joined = [&](const std::vector<std::string>& parts) {
        std::string s = root;
        for (const auto& p : parts) s += (s.empty() ? "" : "/") + p;
        return s;
    };
    std::size_t i = 0;
    while (i < todo.size()) {
        const std::string part = todo[i];
        if (part == "." || part.empty()) { ++i; continue; }
        if (part == "..") {
            if (!done.empty()) done.pop_back();
            ++i;
            continue;
        }
        done.push_back(part);
        const TreeEntry* e = tree.find(joined(done));
        if (e && e->kind == TreeEntry::Kind::symlink) {
            if (++hops > 40) throw Error("too many levels of symbolic links resolving `" + rel + "`", ELOOP);
            done.pop_back();
            std::vector<std::string> target = split(e->data);
            if (!e->data.empty() && e->data[0] == '/') done.clear();
            std::vector<std::string> rest(todo.begin() + long(i) + 1, todo.end());
            todo = target;
            todo.insert(todo.end(), rest.begin(), rest.end());
            i = 0;
            continue;
        }
        ++i;
    }
    return joined(done);
}

LayerStats apply_layer(Tree& tree, const std::string& root, const std::string& blob, const std::string& what) {
    std::unique_ptr<struct archive, ReadDeleter> a(archive_read_new());
    if (!a) throw Error(what + ": archive_read_new failed", ENOMEM);
    archive_read_support_filter_gzip(a.get());
    archive_read_support_filter_zstd(a.get());
    archive_read_support_filter_none(a.get());
    archive_read_support_format_tar(a.get());
    archive_read_support_format_gnutar(a.get());
    if (archive_read_open_filename(a.get(), blob.c_str(), 1 << 16) != ARCHIVE_OK)
        throw Error(what + ": " + archive_error_string(a.get()), archive_errno(a.get()));

    LayerStats st;
    std::set<std::string> added;  // paths this layer created, and their parents
    auto note_added = [&](const std::string& full) {
        for (std::string p = full; p.size() > root.size(); p = p.substr(0, p.rfind('/'))) {
            if (!added.insert(p).second) break;
            if (p.find('/') == std::string::npos) break;
        }
    };
    static std::uint64_t next_link_id = 1;
    struct archive_entry* ae = nullptr;
    for (;;) {
        int r = archive_read_next_header(a.get(), &ae);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN)
            throw Error(what + ": unreadable (truncated or corrupt?): " + archive_error_string(a.get()),
                        archive_errno(a.get()) ? archive_errno(a.get()) : EIO);
        std::string name = clean_name(archive_entry_pathname(ae) ? archive_entry_pathname(ae) : "", what);
        if (name.empty()) continue;  // the root itself
        ++st.entries;
        std::string dir = name.find('/') == std::string::npos ? "" : name.substr(0, name.rfind('/'));
        std::string base = name.substr(name.rfind('/') == std::string::npos ? 0 : name.rfind('/') + 1);
        std::string parent = with_context(what + ": `" + name + "`", [&] { return resolve_in_root(tree, root, dir); });

        if (base == kOpaque) {
            ++st.whiteouts;
            tree.remove_children(parent, added);
            continue;
        }
        if (base.rfind(kWhiteout, 0) == 0) {
            ++st.whiteouts;
            tree.remove(parent + "/" + base.substr(4));
            continue;
        }
        std::string path = parent + "/" + base;
        TreeEntry e;
        e.mode = archive_entry_perm(ae) & 07777;
        e.uid = std::uint32_t(archive_entry_uid(ae));
        e.gid = std::uint32_t(archive_entry_gid(ae));
        archive_entry_xattr_reset(ae);
        const char* xname;
        const void* xval;
        size_t xsize;
        while (archive_entry_xattr_next(ae, &xname, &xval, &xsize) == ARCHIVE_OK)
            e.xattrs[xname] = std::string(static_cast<const char*>(xval), xsize);

        with_context(what + ": `" + name + "`", [&] {
            if (const char* hl = archive_entry_hardlink(ae)) {
                std::string rel = clean_name(hl, what);
                std::size_t slash = rel.rfind('/');
                std::string target = (slash == std::string::npos ? root : resolve_in_root(tree, root, rel.substr(0, slash))) +
                                     "/" + rel.substr(slash == std::string::npos ? 0 : slash + 1);
                TreeEntry* t = const_cast<TreeEntry*>(tree.find(target));
                if (!t || (t->kind != TreeEntry::Kind::bytes_file && t->kind != TreeEntry::Kind::host_file))
                    throw Error("hard link to `" + std::string(hl) + "`, which is not a regular file of the image",
                                ENOENT);
                if (t->host_ino == 0) {
                    t->host_dev = kLayerDev;
                    t->host_ino = ino_t(next_link_id++);
                }
                TreeEntry copy = *t;
                tree.remove(path);
                tree.add_entry(path, copy);
                note_added(path);
                return;
            }
            switch (archive_entry_filetype(ae)) {
                case AE_IFDIR: {
                    e.kind = TreeEntry::Kind::directory;
                    const TreeEntry* old = tree.find(path);
                    if (old && old->kind != TreeEntry::Kind::directory) tree.remove(path);
                    tree.add_entry(path, e);
                    break;
                }
                case AE_IFREG: {
                    e.kind = TreeEntry::Kind::bytes_file;
                    std::int64_t size = archive_entry_size(ae);
                    e.data.resize(std::size_t(size));
                    std::size_t got = 0;
                    while (got < e.data.size()) {
                        la_ssize_t n = archive_read_data(a.get(), e.data.data() + got, e.data.size() - got);
                        if (n <= 0)
                            throw Error(std::string("short read of file data (truncated layer?)") +
                                            (n < 0 ? std::string(": ") + archive_error_string(a.get()) : ""),
                                        EIO);
                        got += std::size_t(n);
                    }
                    e.size = e.data.size();
                    st.bytes += e.size;
                    tree.remove(path);
                    tree.add_entry(path, std::move(e));
                    break;
                }
                case AE_IFLNK:
                    e.kind = TreeEntry::Kind::symlink;
                    e.mode = 0777;
                    e.data = archive_entry_symlink(ae) ? archive_entry_symlink(ae) : "";
                    tree.remove(path);
                    tree.add_entry(path, std::move(e));
                    break;
                case AE_IFCHR:
                    e.kind = TreeEntry::Kind::char_device;
                    e.rdev_major = archive_entry_rdevmajor(ae);
                    e.rdev_minor = archive_entry_rdevminor(ae);
                    tree.remove(path);
                    tree.add_entry(path, std::move(e));
                    break;
                default:
                    log::warn("{}: `{}`: block devices, FIFOs and sockets are not copied", what, name);
                    return;
            }
            note_added(path);
        });
    }
    return st;
}

}  // namespace berth::builder
