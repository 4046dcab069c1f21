// The optional hardware watchdog: PID 1 opens the device named in
// /etc/berth/image.json ({"watchdog": {"device", "timeout", "interval"}}, as
// `berth build` writes it from the YAML), sets its timeout, pets it from the
// event loop and disarms it (the magic 'V' close) only on an orderly shutdown.
// A PID 1 whose loop stops turning stops petting: the machine resets.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "common/fs.hpp"
#include "config/image_config.hpp"

namespace berth::init {

using WatchdogConfig = config::WatchdogConfig;

// Reads the "watchdog" object of image.json text (config/image_config.hpp, the
// model `berth build` writes it with); nullopt when absent. Bad values throw
// berth::Error naming `source`, the field and the reason.
std::optional<WatchdogConfig> parse_watchdog_config(const std::string& image_json, const std::string& source);

class HardwareWatchdog {
public:
    // Opens the device and sets the timeout; throws berth::Error with errno.
    explicit HardwareWatchdog(const WatchdogConfig& config);
    // For tests: an already open fd standing in for the device.
    HardwareWatchdog(fs::Fd fd, int timeout_s, std::int64_t interval_ms);

    void pet();     // any write keeps the timer from firing
    void disarm();  // 'V' then close: the driver stops the timer (unless built nowayout)
    int timeout_s() const { return timeout_s_; }
    std::int64_t interval_ms() const { return interval_ms_; }
    bool armed() const { return bool(fd_); }

private:
    fs::Fd fd_;
    int timeout_s_ = 0;
    std::int64_t interval_ms_ = 0;
};

}  // namespace berth::init
