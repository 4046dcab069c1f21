#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "init/hw_watchdog.hpp"

using namespace berth::init;

static std::string error_of(const std::string& text) {
    try {
        parse_watchdog_config(text, "/etc/berth/image.json");
    } catch (const berth::Error& e) {
        return e.what();
    }
    return "";
}

TEST_CASE("watchdog settings from image.json, as berth build writes them") {
    CHECK_FALSE(parse_watchdog_config("{}", "image.json"));
    auto c = parse_watchdog_config(R"({"watchdog": {"device": "/dev/watchdog1", "timeout": "20s", "interval": 2.5}})",
                                   "image.json");
    REQUIRE(c);
    CHECK(c->device == "/dev/watchdog1");
    CHECK(c->timeout_s == 20);
    CHECK(c->interval_ms == 2500);
    auto d = parse_watchdog_config(R"({"watchdog": {"device": "/dev/watchdog"}})", "image.json");
    REQUIRE(d);
    CHECK(d->timeout_s == 30);
    CHECK(d->interval_ms == 0);
}

TEST_CASE("bad watchdog settings name the file, the field and the reason") {
    CHECK(error_of(R"({"watchdog": {"timeout": "-3s"}})") ==
          "/etc/berth/image.json: watchdog.timeout: expected a duration such as \"10s\"");
    CHECK(error_of(R"({"watchdog": {"timeout": "500ms"}})").find("watchdog.timeout: must be between 1s and 1h") !=
          std::string::npos);
    CHECK(error_of(R"({"watchdog": {"device": "/tmp/x"}})").find("watchdog.device: expected a device path") !=
          std::string::npos);
    CHECK(error_of(R"({"watchdog": {"timout": "5s"}})").find("watchdog.timout: unknown key") != std::string::npos);
    CHECK(error_of("{").find("/etc/berth/image.json: not valid JSON") == 0);
}

TEST_CASE("petting writes a keepalive; disarming writes the magic V and closes") {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
    berth::fs::Fd r(p[0]);
    HardwareWatchdog w(berth::fs::Fd(p[1]), 10, 3000);
    w.pet();
    w.pet();
    CHECK(w.armed());
    w.disarm();
    CHECK_FALSE(w.armed());
    w.pet();  // after disarming: nothing
    char buf[16];
    ssize_t n = ::read(r.get(), buf, sizeof buf);
    REQUIRE(n == 3);
    CHECK(std::string(buf, 3) == std::string("\0\0V", 3));
    CHECK(::read(r.get(), buf, sizeof buf) == 0);  // the write end was closed
}

TEST_CASE("a missing device is an error with errno") {
    WatchdogConfig c;
    c.device = "/dev/berth-no-such-watchdog";
    try {
        HardwareWatchdog w(c);
        FAIL("opened a missing device");
    } catch (const berth::Error& e) {
        CHECK(e.code() == ENOENT);
        CHECK(std::string(e.what()).find("watchdog: open /dev/berth-no-such-watchdog") == 0);
    }
}

#include "init/resident_trim.hpp"

TEST_CASE("trimming the heap after boot keeps what is in use") {
    auto* kept = new int(41);
    delete[] new char[1 << 20];  // freed memory at the top of the heap
    long kb = release_boot_memory();
    CHECK(kb >= 0);
    CHECK(*kept + 1 == 42);
    delete kept;
}
