// berth-metadata: the onboot reader of user data handed over by
// `berth run qemu --data` (or `linuxkit run --data`): it waits a bounded time for
// the CD, mounts it read-only, reads `config` (LinuxKit) or else `user-data`
// (cloud-init NoCloud), and writes it under the config directory (see user_data.hpp).
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "metadata/user_data.hpp"

namespace {

using namespace berth;

struct Options {
    std::string device = "/dev/sr0";
    std::string mount_point = "/cdrom";
    std::string config_dir = "/run/config";
    std::optional<std::string> file;  // read this file instead of the CD
    int wait_seconds = 5;
};

void usage(std::FILE* to) {
    std::fputs(
        "usage: berth-metadata [--device DEV] [--wait SECONDS] [--mount-point DIR] [--config DIR]\n"
        "       berth-metadata --file PATH [--config DIR]\n"
        "Writes the machine's user data to DIR/userdata (default /run/config) and, when it is a\n"
        "JSON object, its entries as directories and files, as LinuxKit's metadata package does.\n"
        "The data is the `config` (else `user-data`) file of the CD on DEV (default /dev/sr0,\n"
        "awaited up to SECONDS, default 5), or PATH.\n",
        to);
}

bool parse(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-h" || a == "--help") {
            usage(stdout);
            std::exit(0);
        }
        if (i + 1 >= argc) return false;
        std::string v = argv[++i];
        if (a == "--device") o.device = v;
        else if (a == "--mount-point") o.mount_point = v;
        else if (a == "--config") o.config_dir = v;
        else if (a == "--file") o.file = v;
        else if (a == "--wait") {
            char* end = nullptr;
            long n = std::strtol(v.c_str(), &end, 10);
            if (end == v.c_str() || *end != '\0' || n < 0 || n > 600) return false;
            o.wait_seconds = int(n);
        } else return false;
    }
    return true;
}

bool wait_for_block_device(const std::string& device, int seconds) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    for (;;) {
        struct stat st {};
        if (stat(device.c_str(), &st) == 0 && S_ISBLK(st.st_mode)) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

// Reads at most `limit` + 1 bytes, so an oversized file is seen as such without reading it all.
std::string read_bounded(const std::string& path, std::size_t limit) {
    std::FILE* f = std::fopen(path.c_str(), "rbe");
    if (!f) throw_errno("open `" + path + "`");
    std::string data(limit + 1, '\0');
    std::size_t n = std::fread(data.data(), 1, data.size(), f);
    bool failed = std::ferror(f);
    std::fclose(f);
    if (failed) throw Error("read `" + path + "`: I/O error", EIO);
    data.resize(n);
    return data;
}

// The user data from the CD: {data, which file}, or nothing when the CD has neither file.
std::optional<std::pair<std::string, std::string>> read_cd(const Options& o, std::size_t limit) {
    fs::mkdir_p(o.mount_point, 0755);
    if (mount(o.device.c_str(), o.mount_point.c_str(), "iso9660", MS_RDONLY, nullptr) != 0)
        throw_errno("mount `" + o.device + "` (iso9660) on `" + o.mount_point + "`");
    std::optional<std::pair<std::string, std::string>> found;
    try {
        for (const char* name : {"config", "user-data"}) {
            std::string path = fs::join(o.mount_point, name);
            if (fs::exists(path)) {
                found.emplace(read_bounded(path, limit), name);
                break;
            }
        }
    } catch (...) {
        umount2(o.mount_point.c_str(), MNT_DETACH);
        throw;
    }
    if (umount2(o.mount_point.c_str(), MNT_DETACH) != 0)
        std::fprintf(stderr, "metadata: umount `%s`: %s\n", o.mount_point.c_str(), std::strerror(errno));
    return found;
}

int run(const Options& o) {
    metadata::Limits limits;
    fs::mkdir_p(o.config_dir, 0755);
    std::string data, from;
    if (o.file) {
        data = read_bounded(*o.file, limits.max_user_data);
        from = "`" + *o.file + "`";
    } else {
        if (!wait_for_block_device(o.device, o.wait_seconds)) {
            std::printf("metadata: no user data CD (%s after %d s)\n", o.device.c_str(), o.wait_seconds);
            return 0;
        }
        auto cd = read_cd(o, limits.max_user_data);
        if (!cd) {
            std::printf("metadata: the CD on %s has neither `config` nor `user-data`\n", o.device.c_str());
            return 0;
        }
        data = std::move(cd->first);
        from = "the " + cd->second + " file of the CD";
    }
    auto report = metadata::write_user_data(data, o.config_dir, limits);
    for (const auto& e : report.errors) std::fprintf(stderr, "metadata: %s\n", e.c_str());
    std::printf("metadata: %s/userdata from %s", o.config_dir.c_str(), from.c_str());
    if (report.json)
        std::printf("; JSON: %zu written, %zu skipped", report.written.size(), report.errors.size());
    std::printf("\n");
    for (const auto& p : report.written) std::printf("metadata: wrote %s/%s\n", o.config_dir.c_str(), p.c_str());
    std::fflush(stdout);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!parse(argc, argv, o)) {
        usage(stderr);
        return 2;
    }
    try {
        return run(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "metadata: %s\n", e.what());
        return 1;
    }
}
