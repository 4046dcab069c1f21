#include "runtime/seccomp_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include <fmt/format.h>
#include <seccomp.h>

#include "common/fs.hpp"
#include "config/seccomp_program.hpp"

namespace berth::runtime {
namespace {

constexpr const char* kMagic = "berth-seccomp-cache 1\n";
constexpr std::size_t kMemoryEntries = 16;

void put_u32(std::string& out, std::uint32_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
void put_str(std::string& out, const std::string& s) {
    put_u32(out, std::uint32_t(s.size()));
    out += s;
}

struct Cursor {
    const std::string& data;
    std::size_t at = 0;
    bool ok = true;
    std::uint32_t u32() {
        std::uint32_t v = 0;
        if (at + sizeof v > data.size()) return ok = false, 0;
        std::memcpy(&v, data.data() + at, sizeof v);
        at += sizeof v;
        return v;
    }
    std::string str() {
        std::uint32_t n = u32();
        if (!ok || at + n > data.size()) return ok = false, std::string();
        std::string s = data.substr(at, n);
        at += n;
        return s;
    }
};

std::string serialize(const std::string& key, const SeccompProgram& p) {
    std::string out = kMagic;
    put_str(out, key);
    put_u32(out, p.flags);
    put_u32(out, std::uint32_t(p.skipped.size()));
    for (const auto& s : p.skipped) put_str(out, s);
    put_str(out, std::string(reinterpret_cast<const char*>(p.insns.data()), p.insns.size() * sizeof(sock_filter)));
    return out;
}

std::optional<SeccompProgram> deserialize(const std::string& data, const std::string& key) {
    if (data.compare(0, std::strlen(kMagic), kMagic) != 0) return std::nullopt;
    Cursor c{data, std::strlen(kMagic)};
    if (c.str() != key || !c.ok) return std::nullopt;
    SeccompProgram p;
    p.flags = c.u32();
    std::uint32_t n = c.u32();
    for (std::uint32_t i = 0; c.ok && i < n && i < 4096; ++i) p.skipped.push_back(c.str());
    std::string insns = c.str();
    if (!c.ok || c.at != data.size() || insns.empty() || insns.size() % sizeof(sock_filter)) return std::nullopt;
    p.insns.resize(insns.size() / sizeof(sock_filter));
    std::memcpy(p.insns.data(), insns.data(), insns.size());
    return p;
}

// FNV-1a, only to name the file; the stored key decides.
std::string file_name(const std::string& key) {
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char ch : key) h = (h ^ ch) * 1099511628211ULL;
    return fmt::format("{:016x}.bpf", h);
}

std::map<std::string, SeccompProgram>& memory() {
    static std::map<std::string, SeccompProgram> m;
    return m;
}

}  // namespace

std::string seccomp_cache_key(const oci::Seccomp& s) {
    const scmp_version* v = seccomp_version();
    return fmt::format("libseccomp {}.{}.{}\n", v->major, v->minor, v->micro) + oci::seccomp_canonical(s);
}

void forget_cached_seccomp() { memory().clear(); }

SeccompProgram compile_seccomp_cached(const oci::Seccomp& s, const std::string& dir) {
    const std::string key = seccomp_cache_key(s);
    auto& mem = memory();
    if (auto it = mem.find(key); it != mem.end()) return it->second;

    const std::string path = dir.empty() ? "" : fs::join(dir, file_name(key));
    std::optional<SeccompProgram> p;
    if (!path.empty())
        if (auto data = fs::try_read_file(path)) p = deserialize(*data, key);
    if (!p) {
        p = compile_seccomp(s);
        if (!path.empty() && (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST)) {
            // Whole file then rename: a concurrent reader sees the old entry or the new one.
            std::string tmp = fmt::format("{}.{}.tmp", path, ::getpid());
            try {
                fs::write_file(tmp, serialize(key, *p), 0600);
                if (::rename(tmp.c_str(), path.c_str()) < 0) ::unlink(tmp.c_str());
            } catch (const std::exception&) {
                ::unlink(tmp.c_str());  // a full or read-only disk only costs the next compile
            }
        }
    }
    if (mem.size() >= kMemoryEntries) mem.erase(mem.begin());
    mem.emplace(key, *p);
    return *p;
}

}  // namespace berth::runtime
