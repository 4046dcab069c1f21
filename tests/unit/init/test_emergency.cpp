// The emergency path and the shutdown steps, through the system-call seam.
#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>

#include <catch2/catch.hpp>

#include "fake_sys.hpp"
#include "init/cgroup_setup.hpp"
#include "init/emergency.hpp"
#include "init/shutdown.hpp"

using namespace berth::init;
using berth::supervisor::PowerAction;
using testing::FakeSys;

namespace {
// A rescue shell that exits after a minute.
struct ShellLater : FakeSys {
    int spawn_on_console(const std::string& p) override {
        int pid = FakeSys::spawn_on_console(p);
        children[pid] = 60000;
        return pid;
    }
};
}  // namespace

TEST_CASE("emergency: the choice comes from berth.emergency, reboot by default") {
    CHECK(emergency_choice({}) == EmergencyChoice::reboot);
    CHECK(emergency_choice({{"berth.emergency", "shell"}}) == EmergencyChoice::shell);
    CHECK(emergency_choice({{"berth.emergency", "poweroff"}}) == EmergencyChoice::poweroff);
    CHECK(emergency_choice({{"berth.emergency", "halt"}}) == EmergencyChoice::halt);
    CHECK(emergency_choice({{"berth.emergency", "nonsense"}}) == EmergencyChoice::reboot);
    CHECK(emergency_choice({{"berth.emergency", "reboot"}}) == EmergencyChoice::reboot);
}

TEST_CASE("emergency: the image's choice from image.json, berth.emergency= overriding its action") {
    using berth::config::EmergencyConfig;
    const std::string shell30 = R"({"emergency": {"action": "shell", "delay": "30s"}})";
    CHECK(emergency_settings({}, std::nullopt) == EmergencyConfig{EmergencyChoice::reboot, kEmergencyDelayMs});
    CHECK(emergency_settings({}, std::string("{}")) == EmergencyConfig{EmergencyChoice::reboot, kEmergencyDelayMs});
    CHECK(emergency_settings({}, shell30) == EmergencyConfig{EmergencyChoice::shell, 30000});
    // The command line wins for the action; the image's delay stays.
    CHECK(emergency_settings({{"berth.emergency", "poweroff"}}, shell30) == EmergencyConfig{EmergencyChoice::poweroff, 30000});
    CHECK(emergency_settings({{"berth.emergency", "shell"}}, std::nullopt) ==
          EmergencyConfig{EmergencyChoice::shell, kEmergencyDelayMs});
    // An invalid command-line value is ignored, not turned into reboot.
    CHECK(emergency_settings({{"berth.emergency", "nonsense"}}, shell30) == EmergencyConfig{EmergencyChoice::shell, 30000});
    // A broken emergency object: the defaults. A broken watchdog beside a good one: the image's choice.
    CHECK(emergency_settings({}, std::string(R"({"emergency": {"action": 3}})")) == EmergencyConfig{});
    CHECK(emergency_settings({}, std::string(R"({"watchdog": {"timeout": "1ms"}, "emergency": {"action": "halt", "delay": 0}})")) ==
          EmergencyConfig{EmergencyChoice::halt, 0});
    CHECK(emergency_settings({}, std::string("not json")) == EmergencyConfig{});
}

TEST_CASE("emergency: the whole path uses the image's action and delay, unless the command line overrides") {
    FakeSys sys;
    sys.files["/etc/berth/image.json"] = R"({"emergency": {"action": "poweroff", "delay": "2s"}})";
    sys.files["/proc/cmdline"] = "console=ttyS0 quiet\n";
    CHECK(emergency_until_reboot(sys, "test failure") == PowerAction::poweroff);
    CHECK(sys.clock >= 2000);
    CHECK(sys.clock < 2100);  // the image's 2 s, not the default 10 s
    CHECK(sys.calls.back() == "reboot " + std::to_string(int(RB_POWER_OFF)));

    FakeSys over;
    over.files["/etc/berth/image.json"] = R"({"emergency": {"action": "poweroff", "delay": "2s"}})";
    over.files["/proc/cmdline"] = "console=ttyS0 berth.emergency=halt\n";
    CHECK(emergency_until_reboot(over, "test failure") == PowerAction::halt);
    CHECK(over.clock < 2100);
    CHECK(over.calls.back() == "reboot " + std::to_string(int(RB_HALT_SYSTEM)));

    ShellLater shell;
    shell.files_present = {"/bin/sh"};
    shell.files["/etc/berth/image.json"] = R"({"emergency": {"action": "shell"}})";
    CHECK(emergency_until_reboot(shell, "test failure") == PowerAction::reboot);
    CHECK(shell.calls.front() == "spawn /bin/sh");
}

TEST_CASE("emergency: reboots after the delay, reaping children all along") {
    FakeSys sys;
    sys.children = {{10, 2000}, {11, 5000}};
    PowerAction a = emergency_wait(sys, EmergencyChoice::reboot, kEmergencyDelayMs);
    CHECK(a == PowerAction::reboot);
    CHECK(sys.clock == kEmergencyDelayMs);
    CHECK(sys.children.empty());  // both reaped during the wait, none left a zombie
}

TEST_CASE("emergency: a poweroff signal during the delay is obeyed at once") {
    FakeSys sys;
    sys.signals = {{1500, SIGCHLD}, {3000, SIGUSR2}};
    CHECK(emergency_wait(sys, EmergencyChoice::reboot, kEmergencyDelayMs) == PowerAction::poweroff);
    CHECK(sys.clock == 3000);
    FakeSys other;
    other.signals = {{100, SIGUSR1}};
    CHECK(emergency_wait(other, EmergencyChoice::poweroff, kEmergencyDelayMs) == PowerAction::halt);
    FakeSys idle;
    idle.signals = {{100, SIGHUP}};  // not a power signal: the delay goes on
    CHECK(emergency_wait(idle, EmergencyChoice::halt, kEmergencyDelayMs) == PowerAction::halt);
    CHECK(idle.clock == kEmergencyDelayMs);
}


TEST_CASE("emergency: a rescue shell on the console when the image has one; reboot when it exits") {
    ShellLater sys;
    sys.files_present = {"/bin/sh"};
    sys.children[5] = 100;  // an orphan exits meanwhile
    CHECK(emergency_wait(sys, EmergencyChoice::shell, kEmergencyDelayMs) == PowerAction::reboot);
    CHECK(sys.calls.front() == "spawn /bin/sh");
    CHECK(sys.clock == 60000);  // the delay does not cut the shell short
    CHECK(sys.children.empty());

    ShellLater asked;
    asked.files_present = {"/bin/sh"};
    asked.signals = {{20000, SIGPWR}};  // poweroff still works while the shell runs
    CHECK(emergency_wait(asked, EmergencyChoice::shell, kEmergencyDelayMs) == PowerAction::poweroff);
}

TEST_CASE("emergency: without /bin/sh the shell choice falls back to reboot after the delay") {
    FakeSys sys;
    CHECK(emergency_wait(sys, EmergencyChoice::shell, kEmergencyDelayMs) == PowerAction::reboot);
    CHECK(sys.clock == kEmergencyDelayMs);
    for (auto& c : sys.calls) CHECK(c.rfind("spawn", 0) != 0);
}

TEST_CASE("shutdown: SIGTERM, then SIGKILL only for what outlives the grace") {
    FakeSys sys;
    sys.children = {{10, INT64_MAX}, {11, INT64_MAX}};
    sys.term_takes_ms = 500;
    kill_everything(sys, 3000);
    CHECK(sys.children.empty());
    CHECK(sys.clock < 1000);
    CHECK(std::find(sys.calls.begin(), sys.calls.end(), "kill -1 9") == sys.calls.end());

    FakeSys stubborn;
    stubborn.children = {{10, INT64_MAX}};
    stubborn.ignore_term = true;
    kill_everything(stubborn, 3000);
    CHECK(stubborn.children.empty());
    CHECK(std::find(stubborn.calls.begin(), stubborn.calls.end(), "kill -1 9") != stubborn.calls.end());
    CHECK(stubborn.clock >= 3000);
    CHECK(stubborn.clock < 3100);

    FakeSys nobody;
    kill_everything(nobody, 3000);
    CHECK(nobody.clock == 0);  // nothing to wait for
}

TEST_CASE("shutdown: unmounts in reverse order, keeps /, /proc, /dev, /sys, remounts the busy read-only") {
    FakeSys sys;
    sys.mounts = {"/", "/proc", "/sys", "/dev", "/run", "/var", "/var/lib/data", "/tmp"};
    sys.busy = {"/var"};
    int kept = unmount_all(sys);
    CHECK(kept == 1);
    std::vector<std::string> umounts;
    for (auto& c : sys.calls)
        if (c.rfind("umount ", 0) == 0) umounts.push_back(c.substr(7));
    // First pass in reverse mount order; the busy one is tried again.
    REQUIRE(umounts.size() >= 4);
    CHECK(std::vector<std::string>(umounts.begin(), umounts.begin() + 4) ==
          std::vector<std::string>{"/tmp", "/var/lib/data", "/var", "/run"});
    CHECK(std::find(sys.calls.begin(), sys.calls.end(),
                    "mount /var " + std::to_string(MS_REMOUNT | MS_RDONLY)) != sys.calls.end());
    CHECK(sys.calls.back() == "mount / " + std::to_string(MS_REMOUNT | MS_RDONLY));
}

TEST_CASE("shutdown: final_reboot syncs first and maps the action to reboot(2)") {
    FakeSys sys;
    final_reboot(sys, PowerAction::halt);
    CHECK(sys.calls == std::vector<std::string>{"sync", "reboot " + std::to_string(int(RB_HALT_SYSTEM))});
    FakeSys off;
    final_reboot(off, PowerAction::poweroff);
    CHECK(off.calls.back() == "reboot " + std::to_string(int(RB_POWER_OFF)));
}

TEST_CASE("cgroup controllers: each one enabled on its own, a refused one does not block the rest") {
    FakeSys sys;
    sys.files["/sys/fs/cgroup/cgroup.controllers"] = "cpuset cpu io memory pids\n";
    sys.refused = {"+io"};
    CHECK(enable_cgroup_controllers(sys, "/sys/fs/cgroup") == "cpuset cpu memory pids");
    int writes = 0;
    for (auto& c : sys.calls) writes += c.rfind("write /sys/fs/cgroup/cgroup.subtree_control +", 0) == 0;
    CHECK(writes == 5);
    FakeSys none;  // no cgroup2 there: nothing written
    CHECK(enable_cgroup_controllers(none, "/sys/fs/cgroup").empty());
    CHECK(none.calls.empty());
}
