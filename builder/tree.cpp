#include "builder/tree.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace berth::builder {

std::string Tree::normalise(const std::string& path) {
    std::string out;
    std::size_t i = 0;
    while (i <= path.size()) {
        std::size_t j = path.find('/', i);
        if (j == std::string::npos) j = path.size();
        std::string part = path.substr(i, j - i);
        if (part == "..") throw Error("archive path `" + path + "` must not contain `..`", EINVAL);
        if (!part.empty() && part != ".") out += (out.empty() ? "" : "/") + part;
        i = j + 1;
    }
    return out;
}

void Tree::ensure_parents(const std::string& path) {
    std::size_t slash = path.rfind('/');
    if (slash == std::string::npos) return;
    std::string parent = path.substr(0, slash);
    auto it = entries_.find(parent);
    if (it != entries_.end()) {
        if (it->second.kind != TreeEntry::Kind::directory)
            throw Error("archive path `" + path + "`: parent `" + parent + "` is not a directory",
                        ENOTDIR);
        return;
    }
    ensure_parents(parent);
    entries_.emplace(parent, TreeEntry{});
}

void Tree::put(const std::string& raw, TreeEntry e) {
    std::string path = normalise(raw);
    if (path.empty()) {
        if (e.kind != TreeEntry::Kind::directory)
            throw Error("archive path `" + raw + "` names the root directory", EINVAL);
        return;  // the root itself is implicit
    }
    ensure_parents(path);
    auto it = entries_.find(path);
    if (it != entries_.end() && it->second.kind == TreeEntry::Kind::directory &&
        e.kind != TreeEntry::Kind::directory) {
        // Replacing a directory by a non-directory would orphan its contents.
        std::string prefix = path + "/";
        auto next = entries_.lower_bound(prefix);
        if (next != entries_.end() && next->first.compare(0, prefix.size(), prefix) == 0)
            throw Error("archive path `" + path + "` is a non-empty directory and cannot be replaced",
                        EISDIR);
    }
    entries_[path] = std::move(e);
}

void Tree::remove(const std::string& raw) {
    std::string path = normalise(raw);
    if (path.empty()) {
        entries_.clear();
        return;
    }
    entries_.erase(path);
    remove_children(path);
}

void Tree::remove_children(const std::string& raw, const std::set<std::string>& keep) {
    std::string path = normalise(raw);
    std::string prefix = path.empty() ? "" : path + "/";
    for (auto it = entries_.lower_bound(prefix); it != entries_.end();) {
        if (it->first.compare(0, prefix.size(), prefix) != 0) break;
        if (keep.count(it->first)) ++it;
        else it = entries_.erase(it);
    }
}

void Tree::add_directory(const std::string& path, std::uint32_t mode, std::uint32_t uid,
                         std::uint32_t gid) {
    TreeEntry e;
    e.kind = TreeEntry::Kind::directory;
    e.mode = mode & 07777;
    e.uid = uid;
    e.gid = gid;
    put(path, std::move(e));
}

void Tree::add_bytes(const std::string& path, std::string data, std::uint32_t mode,
                     std::uint32_t uid, std::uint32_t gid) {
    TreeEntry e;
    e.kind = TreeEntry::Kind::bytes_file;
    e.mode = mode & 07777;
    e.uid = uid;
    e.gid = gid;
    e.size = data.size();
    e.data = std::move(data);
    put(path, std::move(e));
}

void Tree::add_symlink(const std::string& path, const std::string& target, std::uint32_t uid,
                       std::uint32_t gid) {
    TreeEntry e;
    e.kind = TreeEntry::Kind::symlink;
    e.mode = 0777;
    e.uid = uid;
    e.gid = gid;
    e.data = target;
    put(path, std::move(e));
}

void Tree::add_char_device(const std::string& path, std::uint32_t major, std::uint32_t minor,
                           std::uint32_t mode) {
    TreeEntry e;
    e.kind = TreeEntry::Kind::char_device;
    e.mode = mode & 07777;
    e.rdev_major = major;
    e.rdev_minor = minor;
    put(path, std::move(e));
}

static TreeEntry entry_from_stat(const std::string& host_path, const struct stat& st,
                                 bool keep_owner) {
    TreeEntry e;
    e.mode = st.st_mode & 07777;
    e.uid = keep_owner ? st.st_uid : 0;
    e.gid = keep_owner ? st.st_gid : 0;
    if (S_ISDIR(st.st_mode)) {
        e.kind = TreeEntry::Kind::directory;
    } else if (S_ISREG(st.st_mode)) {
        e.kind = TreeEntry::Kind::host_file;
        e.host_path = host_path;
        e.size = std::uint64_t(st.st_size);
        if (st.st_nlink > 1) {
            e.host_dev = st.st_dev;
            e.host_ino = st.st_ino;
        }
    } else if (S_ISLNK(st.st_mode)) {
        e.kind = TreeEntry::Kind::symlink;
        e.mode = 0777;
        std::string target(std::size_t(st.st_size) + 1, '\0');
        ssize_t n = ::readlink(host_path.c_str(), target.data(), target.size());
        if (n < 0) throw_errno("readlink `" + host_path + "`");
        target.resize(std::size_t(n));
        e.data = std::move(target);
    } else {
        throw Error("`" + host_path + "`: unsupported file type", ENOTSUP);
    }
    return e;
}

void Tree::add_host_file(const std::string& path, const std::string& host_path) {
    struct stat st;
    if (::lstat(host_path.c_str(), &st) < 0) throw_errno("stat `" + host_path + "`");
    put(path, entry_from_stat(host_path, st, false));
}

void Tree::add_host_file(const std::string& path, const std::string& host_path,
                         std::uint32_t mode, std::uint32_t uid, std::uint32_t gid) {
    struct stat st;
    if (::stat(host_path.c_str(), &st) < 0) throw_errno("stat `" + host_path + "`");
    if (!S_ISREG(st.st_mode)) throw Error("`" + host_path + "` is not a regular file", EINVAL);
    TreeEntry e = entry_from_stat(host_path, st, false);
    e.mode = mode & 07777;
    e.uid = uid;
    e.gid = gid;
    e.host_dev = 0;
    e.host_ino = 0;
    put(path, std::move(e));
}

void Tree::add_host_tree(const std::string& path, const std::string& host_dir, CopyOptions opts) {
    struct stat st;
    if (::lstat(host_dir.c_str(), &st) < 0) throw_errno("stat `" + host_dir + "`");
    if (!S_ISDIR(st.st_mode)) throw Error("`" + host_dir + "` is not a directory", ENOTDIR);
    std::string base = normalise(path);
    if (!base.empty()) put(base, entry_from_stat(host_dir, st, opts.keep_owner));
    for (const auto& name : fs::list_dir(host_dir)) {
        std::string hp = fs::join(host_dir, name);
        std::string ap = base.empty() ? name : base + "/" + name;
        struct stat cst;
        if (::lstat(hp.c_str(), &cst) < 0) throw_errno("stat `" + hp + "`");
        if (S_ISDIR(cst.st_mode)) {
            add_host_tree(ap, hp, opts);
        } else if (S_ISREG(cst.st_mode) || S_ISLNK(cst.st_mode)) {
            put(ap, entry_from_stat(hp, cst, opts.keep_owner));
        } else {
            log::warn("skipping `{}`: not a regular file, directory or symlink", hp);
        }
    }
}

bool Tree::contains(const std::string& path) const { return find(path) != nullptr; }

const TreeEntry* Tree::find(const std::string& path) const {
    auto it = entries_.find(normalise(path));
    return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace berth::builder
