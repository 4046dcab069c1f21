// Small file-system helpers shared by PID 1, the runtime and the builder.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace berth::fs {

// RAII file descriptor.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(o.release()) {}
    Fd& operator=(Fd&& o) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }
    int get() const { return fd_; }
    int release() { int f = fd_; fd_ = -1; return f; }
    void reset(int fd = -1);
    explicit operator bool() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

std::string read_file(const std::string& path);                 // throws Error
std::optional<std::string> try_read_file(const std::string& path);
// The file's bytes when it has at most `max` of them; throws Error naming the
// file: EFBIG when it has more (or no end, as /dev/zero), errno when unreadable.
std::string read_file_bounded(const std::string& path, std::size_t max);
// A regular file's bytes, at most `max`, for files that come from an image: opened
// without blocking (a FIFO would wait for a writer), refused when not a regular
// file (errno EINVAL: a FIFO, a device such as /dev/zero) or larger (EFBIG).
// nullopt with errno set on any failure, ENOENT when it does not exist.
std::optional<std::string> try_read_regular_file(const std::string& path, std::size_t max);
void write_file(const std::string& path, std::string_view data, mode_t mode = 0644);  // throws
// All of `data` to `fd`, again after EINTR and short writes; throws naming `what`.
void write_all(int fd, std::string_view data, const std::string& what);
bool try_write_file(const std::string& path, std::string_view data);  // O_WRONLY, no create
bool mkdir_p(const std::string& path, mode_t mode = 0755);       // throws; true: it made the leaf
bool exists(const std::string& path);
std::uint64_t file_size(const std::string& path);                // throws Error
void set_mtime(const std::string& path, std::int64_t mtime);     // throws; a link itself, not its target
bool is_dir(const std::string& path);
std::string join(const std::string& a, const std::string& b);
std::vector<std::string> list_dir(const std::string& path);     // sorted names, no . and ..
std::string trim(std::string_view s);

}  // namespace berth::fs
