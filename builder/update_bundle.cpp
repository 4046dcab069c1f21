#include "builder/update_bundle.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/sha256.hpp"

namespace berth::builder {

namespace {
std::uint64_t align(std::uint64_t n) { return (n + update::kPayloadAlign - 1) / update::kPayloadAlign * update::kPayloadAlign; }
}  // namespace

std::uint64_t write_update_bundle(const std::string& path, const BundleInputs& in) {
    std::string data[3] = {fs::read_file(in.uki_a), fs::read_file(in.uki_b), fs::read_file(in.slot)};
    update::Manifest m;
    m.name = in.name;
    m.arch = in.arch;
    m.version = in.version;
    update::BundlePart* parts[] = {&m.uki_a, &m.uki_b, &m.slot};
    for (int i = 0; i < 3; ++i) {
        parts[i]->size = data[i].size();
        parts[i]->sha256 = digest::sha256_hex(data[i]);
    }
    // The payloads' offsets depend on the manifest's length, which depends on
    // them: grow the first offset until the manifest fits before it.
    std::uint64_t first = update::kPayloadAlign;
    std::string text;
    for (;;) {
        std::uint64_t at = first;
        for (auto* p : parts) {
            p->offset = at;
            at = align(at + p->size);
        }
        text = update::serialise_manifest(m);
        if (update::kHeaderBytes + text.size() <= first) break;
        first += update::kPayloadAlign;
    }
    std::string out = update::bundle_header(text, update::ed25519_sign(in.private_key, text)) + text;
    for (int i = 0; i < 3; ++i) {
        out.resize(parts[i]->offset, '\0');
        out += data[i];
    }
    out.resize(align(out.size()), '\0');
    std::string tmp = path + ".tmp";
    fs::write_file(tmp, out, 0644);
    struct timespec ts[2] = {{time_t(in.mtime), 0}, {time_t(in.mtime), 0}};
    if (::utimensat(AT_FDCWD, tmp.c_str(), ts, 0) < 0) throw_errno("set times of `" + tmp + "`");
    if (::rename(tmp.c_str(), path.c_str()) < 0) throw_errno("rename `" + tmp + "` to `" + path + "`");
    return out.size();
}

}  // namespace berth::builder
