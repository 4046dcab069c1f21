#include "metadata/user_data.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::metadata {
namespace {

using nlohmann::json;

constexpr mode_t kFileMode = 0644;
constexpr mode_t kDirMode = 0755;

// What one JSON entry asks for, or why it cannot be one.
enum class Kind { file, directory, legacy_directory, invalid };

Kind kind_of(const json& entry) {
    if (!entry.is_object()) return Kind::invalid;
    bool has_content = entry.contains("content");
    bool has_entries = entry.contains("entries");
    if (has_content && !has_entries) return Kind::file;
    if (has_entries && !has_content) return Kind::directory;
    if (has_content || entry.empty()) return Kind::invalid;
    for (const auto& [name, member] : entry.items()) {
        if (!member.is_object()) return Kind::invalid;
    }
    return Kind::legacy_directory;
}

// "0600", "644": octal as LinuxKit's strconv.ParseUint(perm, 8, 32), capped at 07777.
bool parse_perm(const json& entry, mode_t fallback, mode_t& out, std::string& why) {
    if (!entry.contains("perm")) {
        out = fallback;
        return true;
    }
    const json& perm = entry["perm"];
    if (!perm.is_string()) {
        why = "`perm` must be a string of octal digits such as \"0644\"";
        return false;
    }
    const std::string& text = perm.get_ref<const std::string&>();
    if (text.empty() || text.size() > 5) {
        why = "`perm` \"" + text + "\" is not an octal mode such as \"0644\"";
        return false;
    }
    mode_t mode = 0;
    for (char c : text) {
        if (c < '0' || c > '7') {
            why = "`perm` \"" + text + "\" is not an octal mode such as \"0644\"";
            return false;
        }
        mode = mode * 8 + mode_t(c - '0');
    }
    if (mode > 07777) {
        why = "`perm` \"" + text + "\" is over 07777";
        return false;
    }
    out = mode;
    return true;
}

class Writer {
public:
    Writer(const Limits& limits, ExpandReport& report) : limits_(limits), report_(report) {}

    // Writes `entry` as `name` inside the directory open as `parent`.
    void write(int parent, const std::string& parent_path, const std::string& name, const json& entry,
               std::size_t depth) {
        std::string path = parent_path.empty() ? name : parent_path + "/" + name;
        if (!safe_entry_name(name)) {
            fail(path, "the name is not one path component (empty, `.`, `..`, a `/` or NUL, or over 255 bytes)");
            return;
        }
        if (depth > limits_.max_depth) {
            fail(path, "deeper than " + std::to_string(limits_.max_depth) + " directory levels");
            return;
        }
        if (made_ >= limits_.max_entries) {
            fail(path, "over " + std::to_string(limits_.max_entries) + " files and directories");
            return;
        }
        switch (kind_of(entry)) {
        case Kind::file: write_file(parent, path, name, entry); break;
        case Kind::directory: {
            const json& entries = entry["entries"];
            if (!entries.is_object()) {
                fail(path, "`entries` must be an object of names");
                return;
            }
            write_directory(parent, path, name, entry, entries, depth);
            break;
        }
        case Kind::legacy_directory: write_directory(parent, path, name, json::object(), entry, depth); break;
        case Kind::invalid:
            fail(path, "neither a file ({\"content\": \"…\", \"perm\": \"0644\"}) nor a directory "
                       "({\"entries\": {…}})");
            break;
        }
    }

private:
    void fail(const std::string& path, const std::string& why) {
        report_.errors.push_back("user data entry `" + path + "`: " + why + "; skipped");
    }

    void fail_errno(const std::string& path, const std::string& what, int err) {
        fail(path, what + ": " + std::strerror(err));
    }

    void write_file(int parent, const std::string& path, const std::string& name, const json& entry) {
        const json& content = entry["content"];
        if (!content.is_string()) {
            fail(path, "`content` must be a string");
            return;
        }
        mode_t mode = 0;
        std::string why;
        if (!parse_perm(entry, kFileMode, mode, why)) {
            fail(path, why);
            return;
        }
        // O_NOFOLLOW: a symlink already at the name is refused, never written through.
        fs::Fd fd(openat(parent, name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode));
        if (!fd) {
            fail_errno(path, "open", errno);
            return;
        }
        const std::string& text = content.get_ref<const std::string&>();
        std::size_t done = 0;
        while (done < text.size()) {
            ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                fail_errno(path, "write", errno);
                return;
            }
            done += std::size_t(n);
        }
        // The umask must not narrow the mode the user data asked for.
        if (fchmod(fd.get(), mode) != 0) {
            fail_errno(path, "chmod", errno);
            return;
        }
        ++made_;
        report_.written.push_back(path);
    }

    void write_directory(int parent, const std::string& path, const std::string& name, const json& entry,
                         const json& members, std::size_t depth) {
        mode_t mode = 0;
        std::string why;
        if (!parse_perm(entry, kDirMode, mode, why)) {
            fail(path, why);
            return;
        }
        if (mkdirat(parent, name.c_str(), 0700) != 0 && errno != EEXIST) {
            fail_errno(path, "mkdir", errno);
            return;
        }
        fs::Fd dir(openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!dir) {
            fail_errno(path, "open as a directory", errno);
            return;
        }
        ++made_;
        report_.written.push_back(path + "/");
        for (const auto& [member, value] : members.items()) write(dir.get(), path, member, value, depth + 1);
        // Last, so a directory made read-only still receives its entries.
        if (fchmod(dir.get(), mode) != 0) fail_errno(path, "chmod", errno);
    }

    const Limits& limits_;
    ExpandReport& report_;
    std::size_t made_ = 0;
};

}  // namespace

bool safe_entry_name(std::string_view name) {
    if (name.empty() || name == "." || name == ".." || name.size() > 255) return false;
    return name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

ExpandReport write_user_data(std::string_view data, const std::string& config_dir, const Limits& limits) {
    if (data.size() > limits.max_user_data) {
        throw Error("user data of " + std::to_string(data.size()) + " bytes is over the limit of " +
                    std::to_string(limits.max_user_data) + " bytes; nothing written");
    }
    ExpandReport report;
    fs::write_file(fs::join(config_dir, "userdata"), data, 0644);
    json root = json::parse(data.begin(), data.end(), nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded() || !root.is_object()) return report;  // plain text: `userdata` only
    report.json = true;
    fs::Fd dir(open(config_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) throw_errno("open `" + config_dir + "`");
    Writer writer(limits, report);
    for (const auto& [name, entry] : root.items()) {
        // `userdata` keeps the data as given, whatever the JSON holds.
        if (name == "userdata") {
            report.errors.push_back("user data entry `userdata`: the name holds the user data as given; skipped");
            continue;
        }
        writer.write(dir.get(), "", name, entry, 1);
    }
    return report;
}

}  // namespace berth::metadata
