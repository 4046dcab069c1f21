// Devices containers declare by `match`: what a device is (sysfs), which
// declarations it meets, and the changes PID 1 hands to its helper as devices
// come and go while the container runs.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "fake_sys.hpp"
#include "init/container_devices.hpp"
#include "init/devices.hpp"

using namespace berth;
using namespace berth::init;

namespace {

config::DeviceMatch match(const std::string& text) {
    std::vector<std::string> problems;
    auto m = config::parse_device_match(nlohmann::json{{"match", text}}, "t", problems);
    REQUIRE(problems.empty());
    return m;
}

sigset_t no_signals() {
    sigset_t s;
    sigemptyset(&s);
    return s;
}

// A virtio disk behind a PCI function, as sysfs shows it.
void add_disk(testing::FakeSys& sys, const std::string& name, unsigned minor, const std::string& pci) {
    std::string key = "254:" + std::to_string(minor);
    std::string dev = "/sys/devices/pci0000:00/" + pci + "/virtio" + std::to_string(minor) + "/block/" + name;
    sys.dirs["/sys/dev/block"].push_back(key);
    sys.symlinks["/sys/dev/block/" + key] = "../../devices/pci0000:00/" + pci + "/virtio" + std::to_string(minor) +
                                            "/block/" + name;
    sys.files["/sys/dev/block/" + key + "/uevent"] = "MAJOR=254\nMINOR=" + std::to_string(minor) + "\nDEVNAME=" +
                                                     name + "\nDEVTYPE=disk\n";
    std::string virtio = dev.substr(0, dev.find("/block/"));
    sys.files[virtio + "/modalias"] = "virtio:d00000002v00001AF4\n";
    sys.files[virtio + "/vendor"] = "0x1af4\n";
    sys.files[virtio + "/device"] = "0x0002\n";
    std::string fn = "/sys/devices/pci0000:00/" + pci;
    sys.files[fn + "/modalias"] = "pci:v00001AF4d00001042sv00001AF4sd00001100bc01sc00i00\n";
    sys.files[fn + "/vendor"] = "0x1af4\n";
    sys.files[fn + "/device"] = "0x1042\n";
}

void drop_disk(testing::FakeSys& sys, unsigned minor) {
    std::string key = "254:" + std::to_string(minor);
    auto& list = sys.dirs["/sys/dev/block"];
    list.erase(std::remove(list.begin(), list.end(), key), list.end());
    sys.files.erase("/sys/dev/block/" + key + "/uevent");
}

struct Rig {
    testing::FakeSys sys;
    supervisor::EventLoop loop{no_signals(), [](const signalfd_siginfo&) {}};
    std::vector<DeviceGrantJob> jobs;
    pid_t next_pid = 5000;
    std::map<std::string, std::vector<std::string>> links;
    ContainerDevices devs{sys, loop, [this](const std::string& n) { return links[n]; },
                          [this](const DeviceGrantJob& j) {
                              jobs.push_back(j);
                              return next_pid++;
                          }};
    supervisor::Container c;
    Rig() {
        sys.dirs["/sys/dev/block"] = {};
        sys.dirs["/sys/dev/char"] = {};
        c.name = "claim";
        c.bundle = "/containers/services/claim";
        c.cgroup = "/sys/fs/cgroup/berth/claim";
        c.policy.devices = {match("/dev/disk/by-id/virtio-data*")};
    }
    void run(pid_t pid) {  // the launch reported: the container runs
        c.pid = pid;
        c.pidfd = fs::Fd(::dup(0));
        c.state = supervisor::State::running;
        devs.started(c);
    }
};

}  // namespace

TEST_CASE("container devices: a device's node, parents' modaliases and ids from sysfs") {
    testing::FakeSys sys;
    add_disk(sys, "vdb", 16, "0000:00:04.0");
    auto d = describe_device(sys, 'b', 254, 16);
    REQUIRE(d);
    CHECK(d->name == "vdb");
    CHECK((d->type == 'b' && d->major == 254 && d->minor == 16));
    CHECK(d->modaliases == std::vector<std::string>{"virtio:d00000002v00001AF4",
                                                    "pci:v00001AF4d00001042sv00001AF4sd00001100bc01sc00i00"});
    CHECK(d->ids == std::vector<std::string>{"1af4:0002", "1af4:1042"});
    CHECK_FALSE(describe_device(sys, 'b', 254, 99));  // sysfs does not know it
    // A virtual device: its name, nothing read above it.
    sys.symlinks["/sys/dev/char/4:1"] = "../../devices/virtual/tty/tty1";
    sys.files["/sys/dev/char/4:1/uevent"] = "MAJOR=4\nMINOR=1\nDEVNAME=tty1\n";
    sys.files["/sys/devices/virtual/tty/modalias"] = "never:read\n";
    auto tty = describe_device(sys, 'c', 4, 1);
    REQUIRE(tty);
    CHECK((tty->name == "tty1" && tty->type == 'c' && tty->modaliases.empty()));
    sys.files["/sys/dev/block/254:16/uevent"] = "MAJOR=254\nMINOR=16\nDEVNAME=../etc/x\n";
    CHECK_FALSE(describe_device(sys, 'b', 254, 16));  // never a node outside /dev
}

TEST_CASE("container devices: each form of match") {
    DeviceNode d;
    d.name = "vdb";
    d.links = {"/dev/disk/by-id/virtio-data1", "/dev/disk/by-label/data"};
    d.modaliases = {"virtio:d00000002v00001AF4"};
    d.ids = {"1af4:1042"};
    CHECK(device_matches(match("/dev/vdb"), d));
    CHECK(device_matches(match("/dev/vd[b-z]"), d));
    CHECK_FALSE(device_matches(match("/dev/vda"), d));
    CHECK(device_matches(match("/dev/disk/by-id/virtio-data*"), d));
    CHECK(device_matches(match("/dev/disk/by-label/data"), d));
    CHECK_FALSE(device_matches(match("/dev/disk/by-id/nvme-*"), d));
    CHECK(device_matches(match("modalias:virtio:d00000002v*"), d));
    CHECK_FALSE(device_matches(match("modalias:usb:*"), d));
    CHECK(device_matches(match("1AF4:1042"), d));
    CHECK_FALSE(device_matches(match("1af4:1041"), d));
}

TEST_CASE("container devices: the nodes granted, at /dev/NAME and at its links, mode of the first match") {
    std::map<std::string, DeviceNode> present;
    present["vda"] = DeviceNode{"vda", 'b', 254, 0, {}, {}, {}};
    present["vdb"] = DeviceNode{"vdb", 'b', 254, 16, {"/dev/disk/by-id/virtio-data1"}, {}, {}};
    auto first = match("/dev/disk/by-id/virtio-*");
    first.mode = 0600;
    first.uid = 999;
    auto nodes = granted_nodes({first, match("/dev/vd*")}, present);
    REQUIRE(nodes.size() == 3);
    CHECK((nodes[0].path == "/dev/vda" && nodes[0].file_mode == 0660u && nodes[0].uid == 0u));
    CHECK((nodes[1].path == "/dev/vdb" && nodes[1].file_mode == 0600u && nodes[1].uid == 999u));
    CHECK((nodes[2].path == "/dev/disk/by-id/virtio-data1" && nodes[2].major == 254 && nodes[2].minor == 16));
    CHECK(granted_nodes({match("/dev/sd*")}, present).empty());
}

TEST_CASE("container devices: present at launch, plugged in and removed while it runs") {
    Rig r;
    add_disk(r.sys, "vda", 0, "0000:00:03.0");
    // Before any container declared devices, events are not even looked at.
    r.devs.added('b', 254, 0);
    CHECK(r.devs.present().empty());

    // A container without declarations is none of its business.
    supervisor::Container plain;
    CHECK(r.devs.at_launch(plain).empty());
    CHECK(r.devs.present().empty());

    // At launch: the disk present but not matching; nothing to give.
    CHECK(r.devs.at_launch(r.c).empty());
    CHECK(r.devs.present().count("vda") == 1);
    r.run(100);
    CHECK(r.jobs.empty());

    // Plugged in while it runs: one helper with the node and its link.
    add_disk(r.sys, "vdb", 16, "0000:00:04.0");
    r.links["vdb"] = {"/dev/disk/by-id/virtio-data1"};
    r.devs.added('b', 254, 16);
    REQUIRE(r.jobs.size() == 1);
    CHECK((r.jobs[0].container == "claim" && r.jobs[0].pid == 100 && r.jobs[0].cgroup == r.c.cgroup));
    REQUIRE(r.jobs[0].add.size() == 2);
    CHECK(r.jobs[0].add[0].path == "/dev/vdb");
    CHECK(r.jobs[0].add[1].path == "/dev/disk/by-id/virtio-data1");
    CHECK(r.jobs[0].wanted == r.jobs[0].add);
    CHECK(r.jobs[0].remove.empty());
    // The same event again (a change with nothing new): no helper.
    r.devs.added('b', 254, 16);
    CHECK(r.jobs.size() == 1);

    // Removed while the helper still runs: waits for it, then one more helper.
    drop_disk(r.sys, 16);
    r.devs.removed("vdb");
    CHECK(r.jobs.size() == 1);
    CHECK(r.devs.reaped(5000, CLD_EXITED, 0));
    REQUIRE(r.jobs.size() == 2);
    CHECK(r.jobs[1].add.empty());
    CHECK(r.jobs[1].wanted.empty());  // the allow rule goes with it
    CHECK(r.jobs[1].remove == std::vector<std::string>{"/dev/vdb", "/dev/disk/by-id/virtio-data1"});
    CHECK(r.devs.reaped(5001, CLD_EXITED, 0));
    CHECK_FALSE(r.devs.reaped(4242, CLD_EXITED, 0));  // not a helper: the supervisor's

    // Plugged in after the run ended: nobody to give it to now...
    r.c.state = supervisor::State::exited;
    add_disk(r.sys, "vdb", 16, "0000:00:04.0");
    r.devs.added('b', 254, 16);
    CHECK(r.jobs.size() == 2);
    // ... present when the next run starts: given at launch, no helper needed.
    auto at_launch = r.devs.at_launch(r.c);
    CHECK(at_launch.size() == 2);
    r.run(200);
    CHECK(r.jobs.size() == 2);
}

TEST_CASE("container devices: a device that appears during the launch is given once it runs") {
    Rig r;
    CHECK(r.devs.at_launch(r.c).empty());
    add_disk(r.sys, "vdb", 16, "0000:00:04.0");
    r.links["vdb"] = {"/dev/disk/by-id/virtio-data1"};
    r.devs.added('b', 254, 16);
    CHECK(r.jobs.empty());  // no pid yet
    r.run(300);
    REQUIRE(r.jobs.size() == 1);
    CHECK(r.jobs[0].add.size() == 2);
}

TEST_CASE("container devices: a failed or hung helper") {
    Rig r;
    r.devs.at_launch(r.c);
    r.run(100);
    add_disk(r.sys, "vdb", 16, "0000:00:04.0");
    r.links["vdb"] = {"/dev/disk/by-id/virtio-data1"};
    r.devs.added('b', 254, 16);
    REQUIRE(r.jobs.size() == 1);
    // Killed after the timeout, and not started again in a loop.
    supervisor::Millis now = r.loop.now();
    r.loop.set_clock([&] { return now; });
    now += ContainerDevices::kHelperTimeoutMs + 1;
    r.loop.run_due_timers();
    CHECK(std::count(r.sys.calls.begin(), r.sys.calls.end(), "kill 5000 9") == 1);
    CHECK(r.devs.reaped(5000, CLD_KILLED, SIGKILL));
    CHECK(r.jobs.size() == 1);
    // The next event makes everything again.
    r.devs.added('b', 254, 16);
    CHECK(r.jobs.size() == 1);  // nothing new about vdb...
    add_disk(r.sys, "vdc", 32, "0000:00:05.0");
    r.links["vdc"] = {"/dev/disk/by-id/virtio-data2"};
    r.devs.added('b', 254, 32);
    REQUIRE(r.jobs.size() == 2);
    CHECK(r.jobs[1].add.size() == 4);  // vdb again, and vdc
}

TEST_CASE("container devices: uevents carry block and character nodes to them") {
    testing::FakeSys sys;
    supervisor::EventLoop loop{no_signals(), [](const signalfd_siginfo&) {}};
    DiskLinks disks(sys);
    ColdplugStats stats;
    std::vector<DeviceGrantJob> jobs;
    ContainerDevices devs(sys, loop, [](const std::string&) { return std::vector<std::string>{}; },
                          [&](const DeviceGrantJob& j) { jobs.push_back(j); return pid_t(7000); });
    sys.dirs["/sys/dev/block"] = {};
    sys.dirs["/sys/dev/char"] = {};
    supervisor::Container c;
    c.name = "serial";
    c.policy.devices = {match("/dev/ttyUSB*")};
    devs.at_launch(c);
    c.pid = 10;
    c.pidfd = fs::Fd(::dup(0));
    c.state = supervisor::State::running;
    devs.started(c);
    sys.dirs["/sys/dev/char"] = {"188:0"};
    sys.files["/sys/dev/char/188:0/uevent"] = "MAJOR=188\nMINOR=0\nDEVNAME=ttyUSB0\n";
    Uevent add{"add", "/devices/x/ttyUSB0/tty/ttyUSB0",
               {{"SUBSYSTEM", "tty"}, {"MAJOR", "188"}, {"MINOR", "0"}, {"DEVNAME", "ttyUSB0"}}};
    handle_uevent(add, nullptr, disks, stats, &devs);
    REQUIRE(jobs.size() == 1);
    CHECK((jobs[0].add.at(0).type == 'c' && jobs[0].add.at(0).path == "/dev/ttyUSB0"));
    CHECK(devs.reaped(7000, CLD_EXITED, 0));
    Uevent bad = add;
    bad.env["MAJOR"] = "188x";
    handle_uevent(bad, nullptr, disks, stats, &devs);  // not a number: ignored
    CHECK(jobs.size() == 1);
    Uevent gone{"remove", add.devpath, add.env};
    handle_uevent(gone, nullptr, disks, stats, &devs);
    REQUIRE(jobs.size() == 2);
    CHECK(jobs[1].remove == std::vector<std::string>{"/dev/ttyUSB0"});
}
