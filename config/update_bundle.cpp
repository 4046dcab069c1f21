#include "config/update_bundle.hpp"

#include <nettle/eddsa.h>

#include <cstring>
#include <vector>

#include "common/error.hpp"

namespace berth::update {

namespace {

const char* const kParts[] = {"uki-a", "uki-b", "slot"};

bool is_hex(const std::string& s, std::size_t len) {
    return s.size() == len && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::uint64_t parse_u64(const std::string& key, const std::string& v) {
    if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos)
        throw Error("update manifest: " + key + ": expected a number, got `" + v + "`", EINVAL);
    return std::stoull(v);
}

}  // namespace

std::string to_hex(const std::string& bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

std::string from_hex(const std::string& hex) {
    auto nibble = [&](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        throw Error("`" + std::string(1, c) + "` is not a hex digit", EINVAL);
    };
    if (hex.size() % 2) throw Error("an odd number of hex digits", EINVAL);
    std::string out(hex.size() / 2, '\0');
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = char(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
    return out;
}

std::string parse_private_key(const std::string& text) {
    std::size_t b = text.find_first_not_of(" \t\r\n"), e = text.find_last_not_of(" \t\r\n");
    std::string hex = b == std::string::npos ? "" : text.substr(b, e - b + 1);
    if (hex.size() != 64) throw Error("update key: expected 64 hex digits (a 32-byte Ed25519 seed)", EINVAL);
    return from_hex(hex);
}

std::string serialise_manifest(const Manifest& m) {
    for (const std::string* v : {&m.name, &m.arch, &m.version})
        if (v->find('\n') != std::string::npos) throw Error("update manifest: a value holds a newline", EINVAL);
    std::string s = "format=" + std::to_string(kBundleFormat) + "\nname=" + m.name + "\narch=" + m.arch +
                    "\nversion=" + m.version + "\n";
    const BundlePart* parts[] = {&m.uki_a, &m.uki_b, &m.slot};
    for (int i = 0; i < 3; ++i) {
        std::string k = kParts[i];
        s += k + ".offset=" + std::to_string(parts[i]->offset) + "\n" + k + ".size=" + std::to_string(parts[i]->size) +
             "\n" + k + ".sha256=" + parts[i]->sha256 + "\n";
    }
    return s;
}

Manifest parse_manifest(const std::string& text) {
    std::vector<std::pair<std::string, std::string>> kv;
    std::size_t at = 0;
    while (at < text.size()) {
        std::size_t nl = text.find('\n', at);
        if (nl == std::string::npos) throw Error("update manifest: the last line has no newline", EINVAL);
        std::string line = text.substr(at, nl - at);
        std::size_t eq = line.find('=');
        if (eq == std::string::npos) throw Error("update manifest: `" + line + "` is not key=value", EINVAL);
        kv.emplace_back(line.substr(0, eq), line.substr(eq + 1));
        at = nl + 1;
    }
    // The fixed order: a manifest has one spelling, so it has one signature.
    std::vector<std::string> keys = {"format", "name", "arch", "version"};
    for (const char* p : kParts)
        for (const char* f : {".offset", ".size", ".sha256"}) keys.push_back(std::string(p) + f);
    // The format first: an older bundle is named as such, not as a key mismatch.
    if (!kv.empty() && kv[0].first == "format" && kv[0].second != std::to_string(kBundleFormat))
        throw Error("update manifest: format " + kv[0].second + " (this berth reads format " +
                        std::to_string(kBundleFormat) + ")",
                    EINVAL);
    if (kv.size() != keys.size()) throw Error("update manifest: expected " + std::to_string(keys.size()) + " keys", EINVAL);
    for (std::size_t i = 0; i < keys.size(); ++i)
        if (kv[i].first != keys[i])
            throw Error("update manifest: line " + std::to_string(i + 1) + ": expected `" + keys[i] + "`, got `" +
                            kv[i].first + "`", EINVAL);
    Manifest m;
    m.name = kv[1].second;
    m.arch = kv[2].second;
    m.version = kv[3].second;
    BundlePart* parts[] = {&m.uki_a, &m.uki_b, &m.slot};
    std::uint64_t end = 0;
    for (int i = 0; i < 3; ++i) {
        const auto& [ok, ov] = kv[4 + 3 * i];
        const auto& [sk, sv] = kv[5 + 3 * i];
        const auto& [hk, hv] = kv[6 + 3 * i];
        parts[i]->offset = parse_u64(ok, ov);
        parts[i]->size = parse_u64(sk, sv);
        if (!is_hex(hv, 64)) throw Error("update manifest: " + hk + ": expected 64 hex digits", EINVAL);
        parts[i]->sha256 = hv;
        if (parts[i]->offset % kPayloadAlign || parts[i]->offset < end)
            throw Error("update manifest: " + ok + ": not 4 KiB-aligned after the previous part", EINVAL);
        if (parts[i]->size > (std::uint64_t(1) << 40)) throw Error("update manifest: " + sk + ": too large", EINVAL);
        end = parts[i]->offset + parts[i]->size;
    }
    if (m.name.empty() || m.arch.empty()) throw Error("update manifest: empty name or arch", EINVAL);
    return m;
}

std::string bundle_header(const std::string& manifest_text, const std::string& signature) {
    if (signature.size() != ED25519_SIGNATURE_SIZE) throw Error("update bundle: the signature is not 64 bytes", EINVAL);
    std::string h(kBundleMagic, 8);
    std::uint64_t n = manifest_text.size();
    for (int i = 0; i < 8; ++i) h += char((n >> (8 * i)) & 0xff);
    return h + signature;
}

BundleHead split_bundle_head(const std::string& head, std::uint64_t& needed) {
    needed = kHeaderBytes;
    if (head.size() < kHeaderBytes) return {};
    if (head.compare(0, 8, kBundleMagic) != 0) throw Error("not an update bundle (no BERTHUB1 magic)", EINVAL);
    std::uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n |= std::uint64_t(static_cast<unsigned char>(head[8 + std::size_t(i)])) << (8 * i);
    if (n == 0 || n > kMaxManifestBytes) throw Error("update bundle: manifest length " + std::to_string(n) + " out of range", EINVAL);
    needed = kHeaderBytes + n;
    if (head.size() < needed) return {};
    return {head.substr(kHeaderBytes, n), head.substr(16, ED25519_SIGNATURE_SIZE)};
}

std::string ed25519_public_key(const std::string& private_seed) {
    if (private_seed.size() != ED25519_KEY_SIZE) throw Error("Ed25519: the private key is not 32 bytes", EINVAL);
    std::string pub(ED25519_KEY_SIZE, '\0');
    ed25519_sha512_public_key(reinterpret_cast<std::uint8_t*>(pub.data()),
                              reinterpret_cast<const std::uint8_t*>(private_seed.data()));
    return pub;
}

std::string ed25519_sign(const std::string& private_seed, const std::string& message) {
    std::string pub = ed25519_public_key(private_seed);
    std::string sig(ED25519_SIGNATURE_SIZE, '\0');
    ed25519_sha512_sign(reinterpret_cast<const std::uint8_t*>(pub.data()),
                        reinterpret_cast<const std::uint8_t*>(private_seed.data()), message.size(),
                        reinterpret_cast<const std::uint8_t*>(message.data()),
                        reinterpret_cast<std::uint8_t*>(sig.data()));
    return sig;
}

bool ed25519_verify(const std::string& public_key, const std::string& message, const std::string& signature) {
    if (public_key.size() != ED25519_KEY_SIZE || signature.size() != ED25519_SIGNATURE_SIZE) return false;
    return ed25519_sha512_verify(reinterpret_cast<const std::uint8_t*>(public_key.data()), message.size(),
                                 reinterpret_cast<const std::uint8_t*>(message.data()),
                                 reinterpret_cast<const std::uint8_t*>(signature.data())) == 1;
}

std::string check_bundle(const BundleHead& head, const Manifest& m, const std::string& public_key,
                         const std::string& image_name, const std::string& arch, std::uint64_t file_bytes,
                         std::uint64_t slot_capacity) {
    if (!ed25519_verify(public_key, head.manifest_text, head.signature))
        return "the signature does not match this image's update key";
    if (m.name != image_name) return "the bundle is for image `" + m.name + "`, this is `" + image_name + "`";
    if (m.arch != arch) return "the bundle is for " + m.arch + ", this machine is " + arch;
    for (const BundlePart* p : {&m.uki_a, &m.uki_b, &m.slot})
        if (p->offset + p->size > file_bytes)
            return "the file is truncated: " + std::to_string(file_bytes) + " bytes, the manifest needs " +
                   std::to_string(p->offset + p->size);
    if (m.slot.size > slot_capacity)
        return "the slot image (" + std::to_string(m.slot.size) + " bytes) is larger than the slot (" +
               std::to_string(slot_capacity) + " bytes)";
    return {};
}

std::string check_version(const std::string& bundle_version, const std::string& running_version) {
    if (running_version.empty()) return {};
    if (bundle_version.empty())
        return "the bundle has no version and this machine runs version " + running_version +
               ": it cannot be shown to be newer";
    if (::strverscmp(bundle_version.c_str(), running_version.c_str()) < 0)
        return "version " + bundle_version + " is older than the running version " + running_version;
    return {};
}

}  // namespace berth::update
