// A description of a file tree to be written into an archive (cpio now, tar later).
// Entries are keyed by their path inside the archive; adding a path twice replaces
// the earlier entry, so later layers (e.g. `files:`) override earlier ones.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace berth::builder {

struct TreeEntry {
    enum class Kind { directory, host_file, bytes_file, symlink, char_device };
    Kind kind = Kind::directory;
    std::uint32_t mode = 0755;  // permission bits only (07777)
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::string host_path;  // host_file: where the data comes from
    std::string data;       // bytes_file: the data; symlink: the target
    std::uint64_t size = 0; // host_file: size when added
    // host_file: identity on the host, so hard links stay hard links (0 = none)
    dev_t host_dev = 0;
    ino_t host_ino = 0;
    std::uint32_t rdev_major = 0, rdev_minor = 0;  // char_device
    // Extended attributes ("security.capability", "user.x"); kept by the tar output,
    // dropped by cpio (newc has no place for them).
    std::map<std::string, std::string> xattrs;
};

class Tree {
public:
    // Paths are relative ("etc/hostname"); a leading '/' is ignored. Missing parent
    // directories are created with mode 0755.
    void add_directory(const std::string& path, std::uint32_t mode = 0755, std::uint32_t uid = 0,
                       std::uint32_t gid = 0);
    void add_bytes(const std::string& path, std::string data, std::uint32_t mode = 0644,
                   std::uint32_t uid = 0, std::uint32_t gid = 0);
    // Adds one host file (regular file, directory or symlink) as it is (lstat).
    void add_host_file(const std::string& path, const std::string& host_path);
    // Adds a host file explicitly with the given mode/ownership (follows symlinks).
    void add_host_file(const std::string& path, const std::string& host_path, std::uint32_t mode,
                       std::uint32_t uid = 0, std::uint32_t gid = 0);
    void add_symlink(const std::string& path, const std::string& target, std::uint32_t uid = 0,
                     std::uint32_t gid = 0);
    void add_char_device(const std::string& path, std::uint32_t major, std::uint32_t minor,
                         std::uint32_t mode = 0600);

    struct CopyOptions {
        bool keep_owner = false;  // false: everything is owned by 0:0
    };
    // Recursively adds the contents of host directory `host_dir` under `path` ("" = root).
    // Regular files, directories and symlinks; other file types are skipped with a warning.
    void add_host_tree(const std::string& path, const std::string& host_dir, CopyOptions opts);
    void add_host_tree(const std::string& path, const std::string& host_dir) {
        add_host_tree(path, host_dir, CopyOptions{});
    }

    // Removes `path` and everything under it (a no-op if absent).
    void remove(const std::string& path);
    // Removes everything under directory `path` except the paths in `keep`.
    void remove_children(const std::string& path, const std::set<std::string>& keep = {});
    // Adds an entry as it is (parents are created as 0755 directories).
    void add_entry(const std::string& path, TreeEntry e) { put(path, std::move(e)); }

    bool contains(const std::string& path) const;
    const TreeEntry* find(const std::string& path) const;
    // Sorted by path (byte order), so a directory always precedes its contents.
    const std::map<std::string, TreeEntry>& entries() const { return entries_; }
    std::size_t size() const { return entries_.size(); }

    static std::string normalise(const std::string& path);

private:
    void put(const std::string& path, TreeEntry e);
    void ensure_parents(const std::string& path);
    std::map<std::string, TreeEntry> entries_;
};

}  // namespace berth::builder
