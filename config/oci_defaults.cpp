#include "config/oci_defaults.hpp"

#include <cstdlib>

#include "common/fs.hpp"
#include "config/json_reader.hpp"
#include "config/oci_names.hpp"

#ifndef BERTH_DEFAULTS_DIR
#error "BERTH_DEFAULTS_DIR must be defined by the build"
#endif

namespace berth::oci {
namespace detail {
// Defined in oci_seccomp.cpp and oci_spec.cpp.
bool parse(Reader& r, const json& v, const std::string& path, Seccomp& out);
bool parse(Reader& r, const json& v, const std::string& path, Rlimit& out);
}  // namespace detail

namespace {

using detail::field;
using detail::json;
using detail::Reader;

json read_json(const std::string& file) {
    std::string text = fs::read_file(file);
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) throw ConfigError(file, {"invalid JSON"});
    return j;
}

}  // namespace

std::string defaults_dir() {
    const char* env = std::getenv(kDefaultsDirEnv);
    return env && *env ? env : BERTH_DEFAULTS_DIR;
}

nlohmann::json load_default_seccomp_json(const std::string& dir) {
    const std::string file = fs::join(dir, "seccomp.json");
    json j = read_json(file);
    Reader r;
    Seccomp s;
    detail::parse(r, j, "", s);
    if (!r.problems().empty()) throw ConfigError(file, r.problems());
    return j;
}

SecurityDefaults load_security_defaults(const std::string& dir) {
    const std::string file = fs::join(dir, "security.json");
    json j = read_json(file);
    Reader r;
    SecurityDefaults d;
    if (r.expect(j, "", json::value_t::object)) {
        field(r, j, "", "maskedPaths", d.masked_paths, true);
        field(r, j, "", "readonlyPaths", d.readonly_paths, true);
        for (const auto* list : {&d.masked_paths, &d.readonly_paths})
            for (const auto& p : *list)
                if (p.empty() || p[0] != '/') r.problem(list == &d.masked_paths ? "maskedPaths" : "readonlyPaths",
                                                        "not an absolute path: \"" + p + "\"");
    }
    if (!r.problems().empty()) throw ConfigError(file, r.problems());
    return d;
}

}  // namespace berth::oci
