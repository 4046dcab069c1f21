#include "init/hw_watchdog.hpp"

#include <fcntl.h>
#include <linux/watchdog.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/log.hpp"
#include "config/service_policy.hpp"

namespace berth::init {

std::optional<WatchdogConfig> parse_watchdog_config(const std::string& image_json, const std::string& source) {
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(image_json);
    } catch (const std::exception& e) {
        throw Error(source + ": not JSON: " + e.what(), EINVAL);
    }
    if (!doc.is_object() || !doc.contains("watchdog")) return std::nullopt;
    const auto& w = doc["watchdog"];
    if (!w.is_object()) throw Error(source + ": watchdog: expected an object", EINVAL);
    WatchdogConfig c;
    for (const auto& [key, v] : w.items()) {
        std::string where = source + ": watchdog." + key;
        if (key == "device") {
            if (!v.is_string() || v.get<std::string>().rfind("/dev/", 0) != 0)
                throw Error(where + ": expected a device path under /dev", EINVAL);
            c.device = v.get<std::string>();
        } else if (key == "timeout" || key == "interval") {
            auto ms = config::parse_duration(v);
            if (!ms) throw Error(where + ": expected a duration such as \"10s\"", EINVAL);
            if (key == "timeout") {
                if (*ms < 1000 || *ms > 3600000) throw Error(where + ": must be between 1s and 1h", EINVAL);
                c.timeout_s = int(*ms / 1000);
            } else {
                if (*ms < 100) throw Error(where + ": must be at least 100ms", EINVAL);
                c.interval_ms = *ms;
            }
        } else {
            throw Error(where + ": unknown key (expected device, timeout, interval)", EINVAL);
        }
    }
    return c;
}

HardwareWatchdog::HardwareWatchdog(const WatchdogConfig& config) {
    // Opening starts the timer: from here on PID 1 must pet it.
    fd_.reset(::open(config.device.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd_) throw_errno("watchdog: open " + config.device);
    int timeout = config.timeout_s;
    if (::ioctl(fd_.get(), WDIOC_SETTIMEOUT, &timeout) < 0) {
        int err = errno;
        log::warn("watchdog: {}: set timeout {} s: {}; keeping the driver's", config.device, config.timeout_s,
                  std::strerror(err));
        if (::ioctl(fd_.get(), WDIOC_GETTIMEOUT, &timeout) < 0) timeout = config.timeout_s;
    }
    timeout_s_ = timeout > 0 ? timeout : config.timeout_s;
    interval_ms_ = config.interval_ms ? config.interval_ms : std::int64_t(timeout_s_) * 1000 / 3;
    if (interval_ms_ >= std::int64_t(timeout_s_) * 1000) {
        log::warn("watchdog: interval {} ms is not shorter than the timeout {} s; using a third of it", interval_ms_,
                  timeout_s_);
        interval_ms_ = std::int64_t(timeout_s_) * 1000 / 3;
    }
    pet();
}

HardwareWatchdog::HardwareWatchdog(fs::Fd fd, int timeout_s, std::int64_t interval_ms)
    : fd_(std::move(fd)), timeout_s_(timeout_s), interval_ms_(interval_ms) {}

void HardwareWatchdog::pet() {
    if (!fd_) return;
    // A failed write is logged, never fatal: the reset it may cause is the point.
    if (::write(fd_.get(), "\0", 1) < 0) log::warn("watchdog: keepalive: {}", std::strerror(errno));
}

void HardwareWatchdog::disarm() {
    if (!fd_) return;
    if (::write(fd_.get(), "V", 1) < 0) log::warn("watchdog: magic close: {}", std::strerror(errno));
    fd_.reset();
    log::info("watchdog: disarmed");
}

}  // namespace berth::init
