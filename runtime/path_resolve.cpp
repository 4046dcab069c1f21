#include "runtime/path_resolve.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <vector>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::runtime {
namespace {

constexpr int kMaxLinks = 40;  // the kernel's own limit

std::deque<std::string> split(const std::string& path) {
    std::deque<std::string> parts;
    size_t i = 0;
    while (i < path.size()) {
        size_t j = path.find('/', i);
        if (j == std::string::npos) j = path.size();
        if (j > i) parts.emplace_back(path, i, j - i);
        i = j + 1;
    }
    return parts;
}

std::string joined(const std::string& root, const std::vector<std::string>& parts) {
    std::string out = root;
    while (out.size() > 1 && out.back() == '/') out.pop_back();
    for (const auto& p : parts) {
        if (out != "/") out += '/';
        out += p;
    }
    return out;
}

}  // namespace

std::string resolve_in_root(const std::string& root, const std::string& path) {
    std::vector<std::string> done;  // resolved components, relative to root
    std::deque<std::string> todo = split(path);
    int links = 0;
    bool missing = false;  // once a component is missing nothing below can be a link
    while (!todo.empty()) {
        std::string c = std::move(todo.front());
        todo.pop_front();
        if (c == ".") continue;
        if (c == "..") {
            if (!done.empty()) done.pop_back();  // ".." at the root stays at the root
            continue;
        }
        done.push_back(c);
        if (missing) continue;
        std::string cur = joined(root, done);
        struct stat st;
        if (::lstat(cur.c_str(), &st) < 0) {
            if (errno != ENOENT) throw_errno("lstat `" + cur + "`");
            missing = true;
            continue;
        }
        if (!S_ISLNK(st.st_mode)) continue;
        if (++links > kMaxLinks) throw Error("resolve `" + path + "`: too many symlinks", ELOOP);
        char buf[4096];
        ssize_t n = ::readlink(cur.c_str(), buf, sizeof buf - 1);
        if (n < 0) throw_errno("readlink `" + cur + "`");
        std::string target(buf, size_t(n));
        done.pop_back();
        if (!target.empty() && target[0] == '/') done.clear();  // absolute: from the root
        auto parts = split(target);
        todo.insert(todo.begin(), parts.begin(), parts.end());
    }
    return joined(root, done);
}

void create_mount_point(const std::string& resolved, bool as_file) {
    // Most targets exist already (a rootfs's /proc, /dev/null over a masked
    // file): one stat instead of a mkdir per path component.
    struct stat st;
    const bool present = ::stat(resolved.c_str(), &st) == 0;
    if (!as_file) {
        if (!present || !S_ISDIR(st.st_mode)) fs::mkdir_p(resolved, 0755);
        return;
    }
    // An existing file, directory or device node is a valid target as it is.
    if (present) return;
    auto slash = resolved.rfind('/');
    if (slash != std::string::npos && slash > 0) {
        const std::string parent = resolved.substr(0, slash);
        if (::stat(parent.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) fs::mkdir_p(parent, 0755);
    }
    int fd = ::open(resolved.c_str(), O_RDONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0) {
        // An existing directory or device node is a valid target as it is.
        if (errno == EISDIR || fs::exists(resolved)) return;
        throw_errno("create `" + resolved + "`");
    }
    ::close(fd);
}

}  // namespace berth::runtime
