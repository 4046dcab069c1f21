#include "init/disk_probe.hpp"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace berth::init {
namespace {

std::uint32_t le(const std::string& b, std::size_t off, int bytes) {
    std::uint32_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | std::uint8_t(b[off + std::size_t(i)]);
    return v;
}
std::uint64_t le64(const std::string& b, std::size_t off) {
    return std::uint64_t(le(b, off, 4)) | (std::uint64_t(le(b, off + 4, 4)) << 32);
}

bool has(const std::string& b, std::size_t off, const char* magic) {
    std::size_t n = std::strlen(magic);
    return b.size() >= off + n && b.compare(off, n, magic) == 0;
}

// 16 bytes as 8-4-4-4-12 hex, in byte order (ext4, xfs, swap).
std::string uuid_bytes(const std::string& b, std::size_t off) {
    std::string out;
    bool nonzero = false;
    for (int i = 0; i < 16; ++i) {
        char h[3];
        std::snprintf(h, sizeof h, "%02x", unsigned(std::uint8_t(b[off + std::size_t(i)])));
        nonzero |= b[off + std::size_t(i)] != 0;
        out += h;
        if (i == 3 || i == 5 || i == 7 || i == 9) out += '-';
    }
    return nonzero ? out : "";
}

// A GUID as GPT stores it: the first three fields little-endian.
std::string guid_mixed(const std::string& b, std::size_t off) {
    std::string s(16, '\0');
    static const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
    for (int i = 0; i < 16; ++i) s[std::size_t(i)] = b[off + std::size_t(order[i])];
    return uuid_bytes(s, 0);
}

std::string text(const std::string& b, std::size_t off, std::size_t len) {
    std::string s = b.substr(off, len);
    s.resize(std::strlen(s.c_str()));
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
}

}  // namespace

std::optional<FsInfo> probe_filesystem(const std::string& b) {
    // ext2/3/4: superblock at 1024, magic 0xEF53 at +56.
    if (b.size() >= 1024 + 264 && le(b, 1024 + 56, 2) == 0xEF53) {
        std::uint32_t compat = le(b, 1024 + 92, 4), incompat = le(b, 1024 + 96, 4);
        std::string type = (incompat & 0x2C0) ? "ext4" : (compat & 0x4) ? "ext3" : "ext2";  // extents/64bit/flex_bg; journal
        return FsInfo{type, uuid_bytes(b, 1024 + 104), text(b, 1024 + 120, 16)};
    }
    if (has(b, 0, "XFSB") && b.size() >= 120) return FsInfo{"xfs", uuid_bytes(b, 32), text(b, 108, 12)};
    if (has(b, 0, "hsqs")) return FsInfo{"squashfs", "", ""};
    for (std::size_t page : {4096u, 8192u, 16384u})  // the swap signature ends the first page
        if (has(b, page - 10, "SWAPSPACE2") || has(b, page - 10, "SWAP-SPACE"))
            return FsInfo{"swap", uuid_bytes(b, 1024 + 12), text(b, 1024 + 28, 16)};
    if (b.size() >= 512 && std::uint8_t(b[510]) == 0x55 && std::uint8_t(b[511]) == 0xAA) {
        std::size_t id = 0, label = 0;
        if (has(b, 82, "FAT32   ")) id = 67, label = 71;
        else if (has(b, 54, "FAT12   ") || has(b, 54, "FAT16   ") || has(b, 54, "FAT     ")) id = 39, label = 43;
        if (id) {
            char uuid[10];
            std::uint32_t v = le(b, id, 4);
            std::snprintf(uuid, sizeof uuid, "%04X-%04X", unsigned(v >> 16), unsigned(v & 0xFFFF));
            std::string l = text(b, label, 11);
            if (l == "NO NAME") l.clear();
            return FsInfo{"vfat", uuid, l};
        }
    }
    return std::nullopt;
}

std::vector<std::string> gpt_partition_uuids(const std::string& b) {
    for (std::size_t sector : {512u, 4096u}) {
        if (!has(b, sector, "EFI PART") || b.size() < sector + 92) continue;
        std::uint64_t entries_lba = le64(b, sector + 72);
        std::uint32_t count = le(b, sector + 80, 4), size = le(b, sector + 84, 4);
        if (size < 128 || size > 4096 || count == 0 || count > 256 || entries_lba > b.size() / sector) continue;
        std::vector<std::string> out;
        for (std::uint32_t i = 0; i < count; ++i) {
            std::size_t off = std::size_t(entries_lba) * sector + std::size_t(i) * size;
            if (off + 128 > b.size()) break;
            bool used = false;
            for (std::size_t k = 0; k < 16; ++k) used |= b[off + k] != 0;  // type GUID zero: unused
            out.push_back(used ? guid_mixed(b, off + 16) : "");
        }
        while (!out.empty() && out.back().empty()) out.pop_back();
        return out;
    }
    return {};
}

std::string udev_encode(const std::string& s) {
    static const char* safe = "#+-.:=@_";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || (c && std::strchr(safe, c))) out += char(c);
        else {
            char h[5];
            std::snprintf(h, sizeof h, "\\x%02x", unsigned(c));
            out += h;
        }
    }
    return out;
}

namespace {

// Length of the valid UTF-8 multi-byte sequence at s[i], or 0 (udev keeps those).
std::size_t utf8_sequence(const std::string& s, std::size_t i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    std::uint32_t cp = c & (0x7f >> n);
    for (std::size_t k = 1; k < n; ++k) {
        unsigned char b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (b & 0x3f);
    }
    static const std::uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

}  // namespace

std::string udev_id_part(const std::string& s) {
    // udev reads the value as a C string: it ends at the first NUL.
    std::string in = s.substr(0, s.find('\0'));
    // Whitespace: trimmed, runs become one '_'.
    std::string words;
    bool space = false;
    for (unsigned char c : in) {
        if (std::isspace(c)) {
            space = !words.empty();
            continue;
        }
        if (space) words += '_';
        space = false;
        words += char(c);
    }
    // Then every byte outside [0-9A-Za-z#+-.:=@_], a "\x" escape and valid UTF-8 becomes '_'.
    std::string out;
    for (std::size_t i = 0; i < words.size();) {
        unsigned char c = static_cast<unsigned char>(words[i]);
        if (c < 0x80 && (std::isalnum(c) || std::strchr("#+-.:=@_", c))) {
            out += char(c);
            ++i;
        } else if (c == '\\' && i + 1 < words.size() && words[i + 1] == 'x') {
            out += "\\x";
            i += 2;
        } else if (std::size_t n = utf8_sequence(words, i); n > 1) {
            out += words.substr(i, n);
            i += n;
        } else {
            out += '_';
            ++i;
        }
    }
    return out;
}

}  // namespace berth::init
