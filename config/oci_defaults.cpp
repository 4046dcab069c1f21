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

nlohmann::json example_spec() {
    static const char* const kText = R"({
  "ociVersion": "1.0.2",
  "process": {
    "terminal": true,
    "user": {"uid": 0, "gid": 0},
    "args": ["sh"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "berth",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                    "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
})";
    json j = json::parse(kText);
    (void)parse_spec(j, "the example config.json");  // what it writes, the runtime reads
    return j;
}

}  // namespace berth::oci
