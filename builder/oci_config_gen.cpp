#include "builder/oci_config_gen.hpp"

#include <algorithm>
#include <map>

#include "builder/capabilities.hpp"

namespace berth::builder {

using nlohmann::json;

namespace {

json mount(const std::string& dst, const std::string& type, const std::string& src,
           std::vector<std::string> options) {
    return json{{"destination", dst}, {"type", type}, {"source", src}, {"options", std::move(options)}};
}

// LinuxKit's default set of masked and read-only paths (from runc's defaults).
const std::vector<std::string> kMaskedPaths = {
    "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/sched_debug",
    "/proc/scsi", "/proc/timer_list", "/proc/timer_stats", "/sys/firmware"};
const std::vector<std::string> kReadonlyPaths = {
    "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};

}  // namespace

json generate_oci_config(const ContainerSpec& c) {
    if (!c.command || c.command->empty())
        throw YamlError(c.pos, std::string(stage_name(c.stage)) + "[" + std::to_string(c.index) + "]",
                        "container '" + c.name +
                            "' needs a 'command' (reading the command from the image is not supported yet)");

    // Environment: the default PATH unless the user sets PATH; user entries override
    // earlier ones with the same key, order otherwise kept.
    std::vector<std::string> env;
    bool user_path = std::any_of(c.env.begin(), c.env.end(),
                                 [](const std::string& e) { return e.rfind("PATH=", 0) == 0; });
    if (!user_path) env.push_back(kDefaultPath);
    for (const auto& e : c.env) {
        std::string key = e.substr(0, e.find('='));
        env.erase(std::remove_if(env.begin(), env.end(),
                                 [&](const std::string& x) { return x.substr(0, x.find('=')) == key; }),
                  env.end());
        env.push_back(e);
    }

    std::vector<std::string> caps = expand_capabilities(c.capabilities);
    json capabilities = {{"bounding", caps}, {"effective", caps}, {"inheritable", caps},
                         {"permitted", caps}, {"ambient", c.uid != 0 ? caps : std::vector<std::string>{}}};

    json process = {
        {"terminal", false},
        {"user", {{"uid", c.uid}, {"gid", c.gid}}},
        {"args", *c.command},
        {"env", env},
        {"cwd", c.cwd.value_or("/")},
        {"capabilities", capabilities},
        {"noNewPrivileges", true},
    };

    // Mounts keyed by destination: binds replace defaults at the same place; the
    // map's order puts parents before children (/dev before /dev/pts).
    std::map<std::string, json> mounts;
    mounts["/proc"] = mount("/proc", "proc", "proc", {"nosuid", "nodev", "noexec", "relatime"});
    mounts["/dev"] = mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"});
    mounts["/dev/pts"] = mount("/dev/pts", "devpts", "devpts",
                               {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"});
    std::vector<std::string> sys_opts = {"nosuid", "noexec", "nodev"};
    if (c.net == Namespace::host) sys_opts.push_back("ro");
    mounts["/sys"] = mount("/sys", "sysfs", "sysfs", sys_opts);
    mounts["/sys/fs/cgroup"] = mount("/sys/fs/cgroup", "cgroup2", "cgroup", {"ro", "nosuid", "noexec", "nodev"});
    for (const auto& b : c.binds) {
        std::vector<std::string> opts = b.options.empty() ? std::vector<std::string>{"rw"} : b.options;
        opts.push_back("rbind");
        opts.push_back("rprivate");
        mounts[b.destination] = mount(b.destination, "bind", b.source, opts);
    }
    json mount_list = json::array();
    for (auto& [dst, m] : mounts) mount_list.push_back(std::move(m));

    json namespaces = json::array();
    if (c.pid == Namespace::fresh) namespaces.push_back({{"type", "pid"}});
    namespaces.push_back({{"type", "mount"}});
    if (c.net == Namespace::fresh) namespaces.push_back({{"type", "network"}});
    if (c.ipc == Namespace::fresh) namespaces.push_back({{"type", "ipc"}});
    if (c.uts == Namespace::fresh) namespaces.push_back({{"type", "uts"}});

    json spec = {
        {"ociVersion", "1.0.2"},
        {"process", process},
        {"root", {{"path", "rootfs"}, {"readonly", c.readonly}}},
        {"mounts", mount_list},
        {"linux",
         {{"namespaces", namespaces}, {"maskedPaths", kMaskedPaths}, {"readonlyPaths", kReadonlyPaths}}},
        {"annotations", {{"org.berth.name", c.name}, {"org.berth.stage", stage_name(c.stage)}}},
    };
    if (c.uts == Namespace::fresh) spec["hostname"] = c.hostname.value_or(c.name);
    return spec;
}

std::string oci_config_text(const ContainerSpec& c) {
    return generate_oci_config(c).dump(2) + "\n";  // nlohmann::json objects are key-sorted
}

}  // namespace berth::builder
