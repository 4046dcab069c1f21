// The boot assessment of a slot on trial: committed when every listed service
// is ready, a reboot with the reason when the deadline passes first, nothing
// for a committed slot; the ESP work runs in (here: fake) child processes.
#include <catch2/catch.hpp>

#include "../supervisor/fake.hpp"
#include "fake_sys.hpp"
#include "init/boot_assessment.hpp"
#include "log_capture.hpp"

using namespace berth::init;
using testing::FakeSys;
using testing::LogCapture;
using testing::Rig;
using Phase = BootAssessment::Phase;

namespace {

struct Assess {
    Rig rig;
    FakeSys sys;
    int reboots = 0;
    std::vector<std::function<int()>> spawned;
    std::unique_ptr<BootAssessment> a;

    void start(const std::vector<std::string>& commit, berth::config::Millis deadline_ms) {
        rig.make();
        rig.s->boot();
        berth::config::UpdateConfig cfg;
        cfg.name = "os";
        cfg.commit_when_ready = commit;
        cfg.deadline_ms = deadline_ms;
        a = std::make_unique<BootAssessment>(rig.loop, *rig.s, sys, 'b', cfg, rig.now, [this] { ++reboots; },
                                             [this](std::function<int()> work) {
                                                 spawned.push_back(std::move(work));
                                                 return pid_t(7000 + spawned.size());
                                             });
        a->start();
    }
    // The newest child exits with `status`.
    bool child_done(int status) { return a->child_exited(pid_t(7000 + spawned.size()), CLD_EXITED, status); }
};

}  // namespace

TEST_CASE("a slot on trial is committed once every listed service is ready") {
    LogCapture log;
    Assess x;
    x.rig.t.bundle("services", "web");
    x.start({"web"}, 10000);
    REQUIRE(x.a->phase() == Phase::probing);
    REQUIRE(x.spawned.size() == 1);
    // Another pid is not ours: the supervisor's reaper gets it.
    CHECK_FALSE(x.a->child_exited(42, CLD_EXITED, 0));
    REQUIRE(x.child_done(kProbeOnTrial));
    // web is ready (no readiness protocol): the commit runs in a second child.
    CHECK(x.a->phase() == Phase::blessing);
    REQUIRE(x.spawned.size() == 2);
    REQUIRE(x.child_done(0));
    CHECK(x.a->phase() == Phase::committed);
    CHECK(log.has("update: slot b committed"));
    x.rig.advance(20000);
    CHECK(x.reboots == 0);
}

TEST_CASE("a service that is not ready by the deadline reboots the machine, with the reason") {
    LogCapture log;
    Assess x;
    x.rig.t.bundle("services", "web");
    x.rig.t.bundle("services", "db");
    x.rig.l.broken = {"db"};
    x.start({"web", "db"}, 5000);
    REQUIRE(x.child_done(kProbeOnTrial));
    CHECK(x.a->phase() == Phase::on_trial);
    x.rig.advance(4000);
    CHECK(x.reboots == 0);
    CHECK(x.spawned.size() == 1);  // never blessed
    x.rig.advance(2000);
    CHECK(x.reboots == 1);
    CHECK(x.a->phase() == Phase::failed);
    CHECK(log.has("update: slot b NOT committed: not ready within 5000 ms of boot: db: "));
    CHECK_FALSE(log.has("; web: "));  // web was ready: not named
    x.rig.advance(10000);
    CHECK(x.reboots == 1);
}

TEST_CASE("a committed slot is not assessed: no timer, never a reboot") {
    LogCapture log;
    Assess x;
    x.rig.t.bundle("services", "db");
    x.rig.l.broken = {"db"};
    x.start({"db"}, 1000);
    REQUIRE(x.child_done(kProbeCommitted));
    CHECK(x.a->phase() == Phase::idle);
    x.rig.advance(5000);
    CHECK(x.reboots == 0);
    CHECK(x.spawned.size() == 1);
}

TEST_CASE("a failed entry check neither commits nor reboots") {
    LogCapture log;
    Assess x;
    x.rig.t.bundle("services", "web");
    x.start({"web"}, 1000);
    REQUIRE(x.child_done(1));
    CHECK(x.a->phase() == Phase::failed);
    x.rig.advance(5000);
    CHECK(x.reboots == 0);
    CHECK(log.has("the boot entry check failed"));
}

TEST_CASE("not_ready_services names each service that is not ready, and why") {
    Rig rig;
    rig.t.bundle("services", "web");
    rig.t.bundle("services", "db");
    rig.l.broken = {"db"};
    rig.make();
    rig.s->boot();
    CHECK(not_ready_services(*rig.s, {"web"}) == "");
    std::string why = not_ready_services(*rig.s, {"web", "db", "nope"});
    CHECK(why.rfind("db: ", 0) == 0);
    CHECK(why.find("; nope: no such service") != std::string::npos);
}

TEST_CASE("an entry check that never finishes is reported at the deadline, with no reboot") {
    LogCapture log;
    Assess x;
    x.rig.t.bundle("services", "web");
    x.start({"web"}, 3000);
    x.rig.advance(2000);
    CHECK_FALSE(log.has("has not finished"));
    x.rig.advance(2000);
    CHECK(log.has("update: slot b: the boot entry check has not finished by the deadline"));
    CHECK(x.reboots == 0);
    CHECK(x.a->phase() == Phase::probing);
}
