#include "runtime/seccomp_shipped.hpp"

#include <sys/stat.h>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::runtime {
namespace {

// Header, the longest program the kernel takes and a generous list of skipped names.
constexpr off_t kProgramFileMaxBytes = 256 * 1024;

// The file's bytes; nullopt when it does not exist, an Error for anything else.
std::optional<std::string> read_program_file(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) < 0) {
        if (errno == ENOENT) return std::nullopt;
        throw_errno("stat " + path);
    }
    if (!S_ISREG(st.st_mode)) throw Error(path + ": not a regular file", EINVAL);
    return fs::read_file_bounded(path, kProgramFileMaxBytes);
}

}  // namespace

oci::SeccompProvenance seccomp_provenance(const oci::Seccomp& s, const std::string& arch) {
    return {libseccomp_version(), arch, oci::seccomp_profile_digest(s)};
}

std::string precompile_seccomp(const oci::Seccomp& s, const std::string& target_arch) {
    SeccompProgram p = compile_seccomp(s, target_arch);
    oci::SeccompProgramFile f;
    f.made_from = seccomp_provenance(s, target_arch);
    f.skipped = std::move(p.skipped);
    f.insns = std::move(p.insns);
    return oci::encode_seccomp_program(f);
}

ShippedSeccomp load_shipped_seccomp(const std::string& bundle_dir, const oci::Seccomp& s) {
    ShippedSeccomp out;
    const std::string path = fs::join(bundle_dir, oci::kSeccompProgramFile);
    try {
        std::optional<std::string> data = read_program_file(path);
        if (!data) {
            out.refused = fmt::format("no {} in the bundle", oci::kSeccompProgramFile);
            return out;
        }
        out.file_present = true;
        oci::SeccompProgramFile f = oci::decode_seccomp_program(*data);
        std::string mismatch = oci::seccomp_provenance_mismatch(f.made_from, seccomp_provenance(s, seccomp_native_arch()));
        if (!mismatch.empty()) {
            out.refused = fmt::format("{}: {}", path, mismatch);
            return out;
        }
        SeccompProgram p;
        p.insns = std::move(f.insns);
        p.skipped = std::move(f.skipped);
        p.flags = seccomp_filter_flags(s);
        out.program = std::move(p);
    } catch (const std::exception& e) {
        out.file_present = true;
        out.refused = fmt::format("{}: {}", bundle_dir, e.what());
    }
    return out;
}

}  // namespace berth::runtime
