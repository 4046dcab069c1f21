// What the fuzz targets share: the supervisor unit tests' fake launcher and
// clock, one service "web" with a few log lines, and PID 1's log lines sent
// nowhere (the fuzzer's own output stays readable).
#pragma once
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "common/log.hpp"
#include "common/utf8.hpp"
#include "tests/unit/supervisor/fake.hpp"

namespace fuzzing {

using namespace testing;

inline void quiet() { berth::log::set_fd(::open("/dev/null", O_WRONLY | O_CLOEXEC)); }

// A failed property: report and abort, so that libFuzzer keeps the input.
inline void require(bool ok, const char* what) {
    if (ok) return;
    std::fprintf(stderr, "property failed: %s\n", what);
    std::abort();
}

struct World : Rig {
    explicit World(const std::string& web_policy) {
        quiet();
        t.bundle("services", "web", web_policy);
        t.bundle("onboot", "000-init");
        s = std::make_unique<Supervisor>(loop, l, settings(t.root, 100, t.root + "/notify"));
        s->boot();
        auto& web = const_cast<Container&>(get("web"));
        if (web.log)
            for (const char* l : {"first", "caf\xE9", "\xE2\x82\xAC euro"}) web.log->add_line(l);
    }
};

}  // namespace fuzzing
