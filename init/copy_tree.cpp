#include "init/copy_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <utility>

#include "common/fs.hpp"

namespace berth::init {
namespace {

struct Copier {
    bool move;
    const std::set<std::string>& skip;
    CopyStats stats;
    std::map<std::pair<dev_t, ino_t>, std::string> seen;  // hard links: first copy's path

    void fail(const std::string& what) {
        if (stats.errors++ == 0) stats.first_error = what + ": " + std::strerror(errno);
    }

    bool copy_file(const std::string& src, const std::string& dst, const struct stat& st) {
        fs::Fd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
        if (!in) return fail("open " + src), false;
        fs::Fd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777));
        if (!out) return fail("create " + dst), false;
        off_t left = st.st_size;
        while (left > 0) {
            ssize_t n = ::sendfile(out.get(), in.get(), nullptr, size_t(left));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return fail("copy " + src), false;
            left -= n;
            stats.bytes += size_t(n);
        }
        return true;
    }

    void entry(const std::string& src, const std::string& dst, const std::string& rel) {
        if (skip.count(rel)) return;
        struct stat st;
        if (::lstat(src.c_str(), &st) < 0) return fail("lstat " + src);
        if (S_ISDIR(st.st_mode)) {
            if (::mkdir(dst.c_str(), st.st_mode & 07777) < 0 && errno != EEXIST) return fail("mkdir " + dst);
            ++stats.dirs;
            tree(src, dst, rel);
        } else if (S_ISREG(st.st_mode) && st.st_nlink > 1 && seen.count({st.st_dev, st.st_ino})) {
            if (::link(seen[{st.st_dev, st.st_ino}].c_str(), dst.c_str()) < 0) return fail("link " + dst);
            ++stats.links;
        } else if (S_ISREG(st.st_mode)) {
            if (!copy_file(src, dst, st)) return;
            if (st.st_nlink > 1) seen[{st.st_dev, st.st_ino}] = dst;
            ++stats.files;
        } else if (S_ISLNK(st.st_mode)) {
            char buf[4096];
            ssize_t n = ::readlink(src.c_str(), buf, sizeof buf - 1);
            if (n < 0) return fail("readlink " + src);
            buf[n] = 0;
            if (::symlink(buf, dst.c_str()) < 0) return fail("symlink " + dst);
            ++stats.files;
        } else {
            if (::mknod(dst.c_str(), st.st_mode, st.st_rdev) < 0) return fail("mknod " + dst);
            ++stats.files;
        }
        // Owners and modes after creation: umask and sendfile must not change them.
        if (::lchown(dst.c_str(), st.st_uid, st.st_gid) < 0) fail("chown " + dst);
        if (!S_ISLNK(st.st_mode) && ::chmod(dst.c_str(), st.st_mode & 07777) < 0) fail("chmod " + dst);
        if (move && ::unlinkat(AT_FDCWD, src.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0 &&
            errno != ENOTEMPTY)
            fail("remove " + src);
    }

    void tree(const std::string& from, const std::string& to, const std::string& rel) {
        std::vector<std::string> names;
        try {
            names = fs::list_dir(from);
        } catch (...) {
            return fail("list " + from);
        }
        for (const auto& n : names)
            entry(fs::join(from, n), fs::join(to, n), rel.empty() ? n : rel + "/" + n);
    }
};

}  // namespace

CopyStats copy_tree(const std::string& from, const std::string& to, bool move,
                    const std::set<std::string>& skip) {
    Copier c{move, skip, {}, {}};
    c.tree(from, to, "");
    return c.stats;
}

}  // namespace berth::init
