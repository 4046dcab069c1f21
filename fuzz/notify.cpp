// NOTIFY_SOCKET datagrams: any bytes from any pid. STATUS= must end up valid
// UTF-8 and at most 200 bytes; nothing may throw or crash.
#include "fuzz/rig.hpp"

using namespace fuzzing;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
    static World world(R"({"readiness": {"type": "systemd"}, "watchdog": "1s", "restartDelay": 0})");
    static int n = 0;
    World* w = &world;
    Container& c = *w->s->find("web");
    std::string_view in(reinterpret_cast<const char*>(data), size);
    w->s->notify_data(c, in, size ? pid_t(data[0]) * 1000 : 0);
    require(berth::utf8::valid(c.status_text), "STATUS is not UTF-8");
    require(c.status_text.size() <= 200, "STATUS longer than 200 bytes");
    if (++n % 64 == 0) {
        w->advance(500);  // the watchdog fires now and then: the service is stopped...
        if (c.state == State::stopping) w->exit("web", SIGKILL, CLD_KILLED);
        w->advance(10);   // ...and started again
    }
    return 0;
}
