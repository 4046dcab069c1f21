#include "init/coldplug.hpp"

#include <cerrno>
#include <cstring>

#include "common/fs.hpp"
#include "common/log.hpp"

namespace berth::init {

std::set<std::string> parse_proc_modules(const std::string& text) {
    std::set<std::string> out;
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t j = text.find('\n', i);
        if (j == std::string::npos) j = text.size();
        std::size_t sp = text.find(' ', i);
        if (sp > j) sp = j;
        if (sp > i) out.insert(text.substr(i, sp - i));
        i = j + 1;
    }
    return out;
}

std::optional<DeviceModules> DeviceModules::open(SysOps& sys) {
    std::string release = fs::trim(sys.read_file("/proc/sys/kernel/osrelease").value_or(""));
    if (release.empty() || release.find('/') != std::string::npos) return std::nullopt;
    std::string dir = "/lib/modules/" + release;
    auto alias = sys.read_file(dir + "/modules.alias");
    auto dep = sys.read_file(dir + "/modules.dep");
    if (!alias || !dep) return std::nullopt;
    ModuleIndex index(*alias, *dep);
    if (index.bad_lines()) log::warn("{}: {} malformed lines in modules.alias/modules.dep skipped", dir, index.bad_lines());
    DeviceModules d(sys, dir, std::move(index));
    d.tried_ = parse_proc_modules(sys.read_file("/proc/modules").value_or(""));
    return d;
}

DeviceModules::DeviceModules(SysOps& sys, std::string modules_dir, ModuleIndex index)
    : sys_(sys), dir_(std::move(modules_dir)), index_(std::move(index)) {}

int DeviceModules::load_for(const std::string& modalias, ColdplugStats& stats) {
    // Many devices share one modalias (CPU cores, ports): match it once.
    if (modalias.empty() || !seen_aliases_.insert(modalias).second) return 0;
    int loaded = 0;
    for (const auto& module : index_.match(modalias)) {
        if (tried_.count(module)) continue;
        for (const auto& rel : index_.load_files(module)) {
            std::string name = module_name_of(rel);
            if (!tried_.insert(name).second) continue;
            std::int64_t t0 = sys_.now_ms();
            int rc = sys_.load_module(dir_ + "/" + rel, "");
            if (rc == 0) {
                ++loaded;
                ++stats.modules_loaded;
                log::info("loaded module {} for {} ({} ms)", name, modalias, sys_.now_ms() - t0);
            } else if (rc != -EEXIST) {
                ++stats.modules_failed;
                log::warn("load module {} for {}: {}", name, modalias, std::strerror(-rc));
            }
        }
        tried_.insert(module);  // a module the index has no file for is not looked up again
    }
    return loaded;
}

ColdplugStats DeviceModules::coldplug(int max_passes) {
    ColdplugStats stats;
    for (int pass = 0; pass < max_passes; ++pass) {
        ++stats.passes;
        stats.devices = 0;  // the devices present at the last pass, not the reads
        int loaded = 0;
        std::vector<std::string> device_dirs;
        for (const auto& bus : sys_.list_dir("/sys/bus").value_or(std::vector<std::string>{}))
            device_dirs.push_back("/sys/bus/" + bus + "/devices");
        // Input devices are class devices, on no bus, and carry a modalias of their
        // own (evdev's `input:` alias): one made before PID 1 started (a power button
        // whose driver is built in) sends no uevent that PID 1 could still see.
        device_dirs.push_back("/sys/class/input");
        for (const auto& devices : device_dirs) {
            for (const auto& dev : sys_.list_dir(devices).value_or(std::vector<std::string>{})) {
                std::string path = devices + "/" + dev;
                auto [seen, is_new] = seen_devices_.try_emplace(path, false);
                if (!is_new) {
                    stats.devices += seen->second;
                    continue;
                }
                auto alias = sys_.read_file(path + "/modalias");
                if (!alias) continue;
                seen->second = true;
                ++stats.devices;
                loaded += load_for(fs::trim(*alias), stats);
            }
        }
        if (loaded == 0) break;
    }
    return stats;
}

}  // namespace berth::init
