// Collects what PID 1 logs while it lives (into a memfd).
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include <catch2/catch.hpp>

#include "common/log.hpp"

namespace testing {

struct LogCapture {
    int fd = ::memfd_create("log", MFD_CLOEXEC);
    LogCapture() { berth::log::set_fd(fd); }
    ~LogCapture() {
        berth::log::set_fd(2);
        ::close(fd);
    }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;
    std::string text() const {
        std::string out(size_t(::lseek(fd, 0, SEEK_END)), '\0');
        REQUIRE(::pread(fd, out.data(), out.size(), 0) == ssize_t(out.size()));
        return out;
    }
    bool has(const std::string& s) const { return text().find(s) != std::string::npos; }
};

}  // namespace testing
