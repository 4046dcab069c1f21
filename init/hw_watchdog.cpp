#include "init/hw_watchdog.hpp"

#include <fcntl.h>
#include <linux/watchdog.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>

#include "common/error.hpp"
#include "common/log.hpp"

namespace berth::init {

std::optional<WatchdogConfig> parse_watchdog_config(const std::string& image_json, const std::string& source) {
    return config::parse_image_config_text(image_json, source).watchdog;
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
