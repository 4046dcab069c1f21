#include "common/fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "common/error.hpp"

namespace berth::fs {

Fd& Fd::operator=(Fd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
}

void Fd::reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
}

std::optional<std::string> try_read_file(const std::string& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return std::nullopt;
    std::string out;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return std::nullopt;
        }
        if (n == 0) break;
        out.append(buf, size_t(n));
    }
    return out;
}

std::optional<std::string> try_read_regular_file(const std::string& path, std::size_t max) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (!fd) return std::nullopt;
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) return std::nullopt;
    if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        return std::nullopt;
    }
    std::string out;
    char buf[8192];
    for (;;) {  // st_size is 0 for /proc and /sys files: the bound is on what is read
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return std::nullopt;
        }
        if (n == 0) return out;
        if (out.size() + std::size_t(n) > max) {
            errno = EFBIG;
            return std::nullopt;
        }
        out.append(buf, std::size_t(n));
    }
}

std::string read_file(const std::string& path) {
    auto s = try_read_file(path);
    if (!s) throw_errno("read `" + path + "`");
    return *s;
}

std::string read_file_bounded(const std::string& path, std::size_t max) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("read `" + path + "`");
    std::string out;
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("read `" + path + "`");
        if (n == 0) return out;
        if (out.size() + std::size_t(n) > max)
            throw Error("`" + path + "`: more than " + std::to_string(max) + " bytes", EFBIG);
        out.append(buf, std::size_t(n));
    }
}

void write_all(int fd, std::string_view data, const std::string& path) {
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("write `" + path + "`");
        }
        p += n;
        left -= size_t(n);
    }
}

void write_file(const std::string& path, std::string_view data, mode_t mode) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
    if (!fd) throw_errno("open `" + path + "`");
    write_all(fd.get(), data, path);
}

bool try_write_file(const std::string& path, std::string_view data) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) return false;
    try {
        write_all(fd.get(), data, path);
    } catch (const Error&) {
        return false;
    }
    return true;
}

bool mkdir_p(const std::string& path, mode_t mode) {
    if (path.empty()) return false;
    // The leaf first: usually its parents exist (a state root, a cgroup
    // parent, a mount target's directory), and then one mkdir is the whole
    // cost; the parents are made only when the kernel says one is missing.
    if (::mkdir(path.c_str(), mode) == 0) return true;
    if (errno == ENOENT) {
        size_t slash = path.find_last_not_of('/');
        slash = slash == std::string::npos ? std::string::npos : path.rfind('/', slash);
        if (slash != std::string::npos && slash != 0) mkdir_p(path.substr(0, slash), mode);
        if (::mkdir(path.c_str(), mode) == 0) return true;
    }
    if (errno != EEXIST) throw_errno("mkdir `" + path + "`");
    if (!is_dir(path)) throw Error("mkdir `" + path + "`: exists and is not a directory", ENOTDIR);
    return false;
}

bool exists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
}

bool is_dir(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string join(const std::string& a, const std::string& b) {
    if (a.empty()) return b;
    if (b.empty()) return a;
    std::string out = a;
    while (out.size() > 1 && out.back() == '/') out.pop_back();
    size_t k = 0;
    while (k < b.size() && b[k] == '/') ++k;
    if (out != "/") out += '/';
    out.append(b, k);
    return out;
}

std::vector<std::string> list_dir(const std::string& path) {
    std::vector<std::string> names;
    DIR* d = ::opendir(path.c_str());
    if (!d) throw_errno("opendir `" + path + "`");
    while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(std::move(n));
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

std::string trim(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\n' || s[b] == '\r')) ++b;
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\n' || s[e - 1] == '\r')) --e;
    return std::string(s.substr(b, e - b));
}

std::uint64_t file_size(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) < 0) throw_errno("stat `" + path + "`");
    return std::uint64_t(st.st_size);
}

void set_mtime(const std::string& path, std::int64_t mtime) {
    struct timespec ts[2] = {{time_t(mtime), 0}, {time_t(mtime), 0}};
    if (::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) < 0) throw_errno("set times of `" + path + "`");
}

}  // namespace berth::fs
