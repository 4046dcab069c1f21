#include "builder/verity.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include "builder/process.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/sha256.hpp"

namespace berth::builder {

namespace {
constexpr std::uint64_t kBlock = 4096;
}

std::optional<std::string> parse_root_hash(const std::string& report) {
    std::istringstream in(report);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("Root hash:", 0) != 0) continue;
        std::string hex = fs::trim(line.substr(10));
        if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) return std::nullopt;
        return hex;
    }
    return std::nullopt;
}

std::string uuid_from_hex(const std::string& seed) {
    std::string h = seed.substr(0, 32);
    h[12] = '4';                                   // version 4
    h[16] = "89ab"[std::stoi(h.substr(16, 1), nullptr, 16) & 3];  // RFC 4122 variant
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20, 12);
}

std::string verity_cmdline(const VerityTree& t) {
    return "berth.verity.roothash=" + t.root_hash + " berth.verity.salt=" + t.salt +
           " berth.verity.datablocks=" + std::to_string(t.data_blocks) +
           " berth.verity.hashoffset=" + std::to_string(t.hash_offset);
}

VerityTree append_verity_tree(const std::string& image) {
    struct stat st;
    if (::stat(image.c_str(), &st) < 0) throw_errno("verity: stat `" + image + "`");
    std::uint64_t padded = (std::uint64_t(st.st_size) + kBlock - 1) / kBlock * kBlock;
    if (padded != std::uint64_t(st.st_size) && ::truncate(image.c_str(), off_t(padded)) < 0)
        throw_errno("verity: pad `" + image + "` to 4 KiB");
    VerityTree t;
    t.data_blocks = padded / kBlock;
    t.hash_offset = padded;
    t.salt = digest::sha256_hex(fs::read_file(image));
    t.uuid = uuid_from_hex(digest::sha256_hex("berth verity uuid " + t.salt));
    std::vector<std::string> argv = {"veritysetup", "format", "--hash=sha256", "--format=1",
                                     "--data-block-size=4096", "--hash-block-size=4096",
                                     "--data-blocks=" + std::to_string(t.data_blocks),
                                     "--hash-offset=" + std::to_string(t.hash_offset),
                                     "--salt=" + t.salt, "--uuid=" + t.uuid, image, image};
    ProcessResult r;
    try {
        r = run_process(argv);
    } catch (const Error& e) {
        throw Error(std::string("verity: ") + e.what() + " (veritysetup is in cryptsetup-bin)", e.code());
    }
    if (r.exit_code != 0)
        throw Error("verity: `" + quote_command(argv) + "` failed (exit " + std::to_string(r.exit_code) +
                        "): " + fs::trim(r.err.empty() ? r.out : r.err),
                    EIO);
    auto root = parse_root_hash(r.out);
    if (!root) throw Error("verity: no root hash in the report of `" + quote_command(argv) + "`: " + r.out, EIO);
    t.root_hash = *root;
    return t;
}

}  // namespace berth::builder
