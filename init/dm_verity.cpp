#include "init/dm_verity.hpp"

#include <linux/dm-ioctl.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>

#include <cstring>
#include <vector>

#include "common/log.hpp"

namespace berth::init {

namespace {

constexpr const char* kPrefix = "berth.verity.";

bool is_hex(const std::string& s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

std::optional<std::uint64_t> number(const std::string& s) {
    if (s.empty() || s.size() > 19) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + std::uint64_t(c - '0');
    }
    return v;
}

// One ioctl buffer: the dm_ioctl header, then (for DM_TABLE_LOAD) the target
// spec and its NUL-terminated parameters, padded to 8 bytes as the kernel asks.
struct DmRequest {
    std::vector<unsigned char> buf;

    explicit DmRequest(std::size_t payload = 0) : buf(sizeof(dm_ioctl) + ((payload + 7) & ~std::size_t(7)), 0) {
        dm_ioctl& io = header();
        io.version[0] = DM_VERSION_MAJOR;
        io.version[1] = 0;
        io.version[2] = 0;
        io.data_size = std::uint32_t(buf.size());
        io.data_start = sizeof(dm_ioctl);
        std::strncpy(io.name, kVerityDmName, sizeof io.name - 1);
    }
    dm_ioctl& header() { return *reinterpret_cast<dm_ioctl*>(buf.data()); }
};

std::string step_failed(const std::string& step, int e) { return step + " on /dev/mapper/control: " + std::strerror(-e); }

}  // namespace

bool verity_requested(const std::map<std::string, std::string>& cmdline) {
    auto it = cmdline.lower_bound(kPrefix);
    return it != cmdline.end() && it->first.rfind(kPrefix, 0) == 0;
}

std::optional<VerityParams> verity_params(const std::map<std::string, std::string>& cmdline, std::string& err) {
    auto get = [&](const char* key) -> std::optional<std::string> {
        auto it = cmdline.find(std::string(kPrefix) + key);
        if (it == cmdline.end()) {
            err = std::string(kPrefix) + key + "= is missing";
            return std::nullopt;
        }
        return it->second;
    };
    VerityParams p;
    auto root = get("roothash");
    if (!root) return std::nullopt;
    if (root->size() != 64 || !is_hex(*root)) {
        err = std::string(kPrefix) + "roothash= must be 64 lower-case hex digits (sha256), not `" + *root + "`";
        return std::nullopt;
    }
    p.root_hash = *root;
    auto salt = get("salt");
    if (!salt) return std::nullopt;
    if (*salt != "-" && (salt->size() % 2 || salt->size() > 512 || !is_hex(*salt))) {
        err = std::string(kPrefix) + "salt= must be hex (at most 256 bytes) or `-`, not `" + *salt + "`";
        return std::nullopt;
    }
    p.salt = *salt;
    auto blocks = get("datablocks");
    if (!blocks) return std::nullopt;
    auto nb = number(*blocks);
    if (!nb || *nb == 0) {
        err = std::string(kPrefix) + "datablocks= must be a positive number, not `" + *blocks + "`";
        return std::nullopt;
    }
    p.data_blocks = *nb;
    auto offset = get("hashoffset");
    if (!offset) return std::nullopt;
    auto off = number(*offset);
    if (!off || *off % kVerityBlockSize || *off / kVerityBlockSize < p.data_blocks) {
        err = std::string(kPrefix) + "hashoffset= must be a multiple of 4096 at or after the data blocks, not `" +
              *offset + "`";
        return std::nullopt;
    }
    p.hash_offset = *off;
    return p;
}

std::string verity_table(const VerityParams& p, const std::string& device) {
    std::string bs = std::to_string(kVerityBlockSize);
    // The superblock veritysetup writes at hash_offset takes one hash block.
    std::uint64_t hash_start = p.hash_offset / kVerityBlockSize + 1;
    return "1 " + device + " " + device + " " + bs + " " + bs + " " + std::to_string(p.data_blocks) + " " +
           std::to_string(hash_start) + " sha256 " + p.root_hash + " " + p.salt;
}

std::string setup_verity(SysOps& sys, const std::string& device, const VerityParams& p, std::string& err) {
    DmRequest create;
    if (int e = sys.dm_ioctl(DM_DEV_CREATE, create.buf.data())) {
        err = step_failed("DM_DEV_CREATE " + std::string(kVerityDmName), e);
        return {};
    }
    unsigned minor_no = minor(dev_t(create.header().dev));
    auto remove = [&] {
        DmRequest rm;
        if (int e = sys.dm_ioctl(DM_DEV_REMOVE, rm.buf.data())) log::warn("DM_DEV_REMOVE {}: {}", kVerityDmName, std::strerror(-e));
    };

    std::string params = verity_table(p, device);
    DmRequest load(sizeof(dm_target_spec) + params.size() + 1);
    dm_ioctl& io = load.header();
    io.flags = DM_READONLY_FLAG;
    io.target_count = 1;
    auto* spec = reinterpret_cast<dm_target_spec*>(load.buf.data() + sizeof(dm_ioctl));
    spec->sector_start = 0;
    spec->length = p.data_blocks * (kVerityBlockSize / 512);
    std::strncpy(spec->target_type, "verity", sizeof spec->target_type - 1);
    std::memcpy(load.buf.data() + sizeof(dm_ioctl) + sizeof(dm_target_spec), params.c_str(), params.size() + 1);
    if (int e = sys.dm_ioctl(DM_TABLE_LOAD, load.buf.data())) {
        err = step_failed("DM_TABLE_LOAD (verity " + params + ")", e);
        remove();
        return {};
    }

    DmRequest resume;  // DM_DEV_SUSPEND without DM_SUSPEND_FLAG: make the loaded table live
    if (int e = sys.dm_ioctl(DM_DEV_SUSPEND, resume.buf.data())) {
        err = step_failed("DM_DEV_SUSPEND (resume)", e);
        remove();
        return {};
    }

    // devtmpfs makes the node from the kernel's uevent; it may lag a little.
    std::string node = "/dev/dm-" + std::to_string(minor_no);
    std::int64_t deadline = sys.now_ms() + 2000;
    while (!sys.exists(node)) {
        if (sys.now_ms() >= deadline) {
            err = node + " did not appear within 2 s after DM_DEV_SUSPEND";
            remove();
            return {};
        }
        sys.sleep_ms(10);
    }
    return node;
}

}  // namespace berth::init
