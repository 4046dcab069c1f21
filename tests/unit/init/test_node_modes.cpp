// Modes and groups of device nodes (Debian's udev defaults) against a fake kernel.
#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>

#include "config/device_modes.hpp"
#include "fake_sys.hpp"
#include "init/devices.hpp"
#include "init/node_modes.hpp"

using namespace berth::init;

namespace {

std::vector<std::string> owner_calls(const testing::FakeSys& s) {
    std::vector<std::string> out;
    for (const auto& c : s.calls)
        if (c.rfind("owner ", 0) == 0) out.push_back(c);
    return out;
}

// A char node of /sys/dev/char with its subsystem link, as sysfs shows them.
void char_node(testing::FakeSys& s, const std::string& numbers, const std::string& name, const std::string& subsystem) {
    s.dirs["/sys/dev/char"].push_back(numbers);
    s.files["/sys/dev/char/" + numbers + "/uevent"] = "MAJOR=1\nMINOR=3\nDEVNAME=" + name + "\nDEVMODE=0666\n";
    s.symlinks["/sys/dev/char/" + numbers + "/subsystem"] = "../../../../class/" + subsystem;
}

}  // namespace

TEST_CASE("node modes follow Debian's udev rules, groups from Debian's fixed ids without /etc/group") {
    GroupIds none;
    auto m = [&](const char* sub, const char* name) {
        auto r = node_mode_for(sub, name, none);
        REQUIRE(r);
        return std::pair{unsigned(r->mode), unsigned(r->gid)};
    };
    CHECK(m("mem", "null") == std::pair{0666u, 0u});
    CHECK(m("mem", "urandom") == std::pair{0666u, 0u});
    CHECK(m("mem", "kmsg") == std::pair{0644u, 0u});
    CHECK(m("mem", "mem") == std::pair{0640u, 15u});
    CHECK(m("tty", "tty") == std::pair{0666u, 5u});
    CHECK(m("tty", "ptmx") == std::pair{0666u, 5u});
    CHECK(m("tty", "tty1") == std::pair{0620u, 5u});
    CHECK(m("tty", "ttyS0") == std::pair{0660u, 20u});
    CHECK(m("tty", "ttyUSB12") == std::pair{0660u, 20u});
    CHECK(m("misc", "net/tun") == std::pair{0666u, 0u});
    CHECK(m("misc", "fuse") == std::pair{0666u, 0u});
    CHECK(m("block", "vda") == std::pair{0660u, 6u});
    CHECK(m("block", "nvme0n1p2") == std::pair{0660u, 6u});
    CHECK(m("block", "sr0") == std::pair{0660u, 24u});
    CHECK(m("sound", "snd/controlC0") == std::pair{0660u, 29u});
    // kvm has no fixed id: root, with the mode.
    CHECK(m("misc", "kvm") == std::pair{0666u, 0u});
    CHECK(m("misc", "vhost-vsock") == std::pair{0666u, 0u});
    // No rule: devtmpfs's own mode stays (a tty named like a serial port is not one by subsystem).
    CHECK_FALSE(node_mode_for("rtc", "rtc0", none));
    CHECK_FALSE(node_mode_for("misc", "hw_random", none));
    CHECK_FALSE(node_mode_for("tty", "console", none));
    CHECK_FALSE(node_mode_for("misc", "tty1", none));
}

TEST_CASE("the image's /etc/group gives the ids, the first line of a name wins") {
    testing::FakeSys s;
    s.files["/etc/group"] = "root:x:0:\n# comment\nkvm:x:104:alice\ndisk:x:66:\nkvm:x:999:\nbroken line\n";
    GroupIds g = image_groups(s);
    CHECK(node_mode_for("misc", "kvm", g)->gid == 104);
    CHECK(node_mode_for("block", "vda", g)->gid == 66);
    CHECK(node_mode_for("tty", "tty1", g)->gid == 5);  // not in the file: Debian's id
    testing::FakeSys empty;
    CHECK(image_groups(empty).empty());
}

TEST_CASE("the boot scan sets the nodes the table names and logs a failure without stopping") {
    testing::FakeSys s;
    char_node(s, "1:3", "null", "mem");
    char_node(s, "10:200", "net/tun", "misc");
    char_node(s, "4:64", "ttyS0", "tty");
    char_node(s, "252:0", "rtc0", "rtc");      // no rule
    char_node(s, "10:232", "kvm", "misc");
    s.dirs["/sys/dev/char"].push_back("5:1");  // no uevent: skipped
    s.dirs["/sys/dev/block"] = {"253:0"};
    s.files["/sys/dev/block/253:0/uevent"] = "MAJOR=253\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n";
    s.node_errors["/dev/kvm"] = -EROFS;
    NodeModes modes(s, {});
    auto st = modes.scan();
    CHECK(owner_calls(s) == std::vector<std::string>{"owner /dev/null 0:0 0666", "owner /dev/net/tun 0:0 0666",
                                                      "owner /dev/ttyS0 0:20 0660", "owner /dev/kvm 0:0 0666",
                                                      "owner /dev/vda 0:6 0660"});
    CHECK(st.set == 4);
    CHECK(st.failed == 1);
}

TEST_CASE("a virtual tty, vc or mem device is named by its link alone; others by their uevent") {
    testing::FakeSys s;
    auto virtual_node = [&](const std::string& numbers, const std::string& target) {
        s.dirs["/sys/dev/char"].push_back(numbers);
        s.symlinks["/sys/dev/char/" + numbers] = "../../devices/virtual/" + target;
    };
    virtual_node("4:1", "tty/tty1");
    virtual_node("7:1", "vc/vcs1");
    virtual_node("1:3", "mem/null");
    // misc names its nodes itself ("net/tun"): the link is not enough.
    virtual_node("10:200", "misc/tun");
    s.files["/sys/dev/char/10:200/uevent"] = "MAJOR=10\nMINOR=200\nDEVNAME=net/tun\n";
    s.symlinks["/sys/dev/char/10:200/subsystem"] = "../../../../class/misc";
    // A tty with a parent: its link does not name the class, the uevent and subsystem do.
    s.dirs["/sys/dev/char"].push_back("4:64");
    s.symlinks["/sys/dev/char/4:64"] = "../../devices/pnp0/00:04/tty/ttyS0";
    s.files["/sys/dev/char/4:64/uevent"] = "MAJOR=4\nMINOR=64\nDEVNAME=ttyS0\n";
    s.symlinks["/sys/dev/char/4:64/subsystem"] = "../../../../class/tty";
    NodeModes modes(s, {});
    auto st = modes.scan();
    CHECK(owner_calls(s) == std::vector<std::string>{"owner /dev/tty1 0:5 0620", "owner /dev/vcs1 0:5 0660",
                                                      "owner /dev/null 0:0 0666", "owner /dev/net/tun 0:0 0666",
                                                      "owner /dev/ttyS0 0:20 0660"});
    CHECK(st.set == 5);
    CHECK(st.failed == 0);
    CHECK(berth::config::devname_is_kernel_name("tty"));
    CHECK_FALSE(berth::config::devname_is_kernel_name("input"));
}

TEST_CASE("an add event sets its node's mode before the disk links and the containers see it") {
    testing::FakeSys s;
    NodeModes modes(s, {{"disk", 66}});
    DiskLinks disks(s);
    ColdplugStats st;
    s.files["/sys/class/block/vdb/size"] = "2048\n";
    Uevent add{"add", "/devices/pci0000:00/0000:00:07.0/virtio4/block/vdb",
               {{"SUBSYSTEM", "block"}, {"DEVNAME", "vdb"}, {"DEVTYPE", "disk"}, {"MAJOR", "253"}, {"MINOR", "16"}}};
    handle_uevent(add, nullptr, disks, st, nullptr, &modes);
    CHECK(owner_calls(s) == std::vector<std::string>{"owner /dev/vdb 0:66 0660"});
    // change and remove leave it alone; so does an event without a node.
    add.action = "change";
    handle_uevent(add, nullptr, disks, st, nullptr, &modes);
    add.action = "remove";
    handle_uevent(add, nullptr, disks, st, nullptr, &modes);
    Uevent nic{"add", "/devices/virtio3", {{"MODALIAS", "virtio:d00000001v00001AF4"}}};
    handle_uevent(nic, nullptr, disks, st, nullptr, &modes);
    CHECK(owner_calls(s).size() == 1);
    // A name that would leave /dev is refused, as are failures counted, not thrown.
    Uevent odd{"add", "/devices/x", {{"SUBSYSTEM", "block"}, {"DEVNAME", "../etc/shadow"}}};
    handle_uevent(odd, nullptr, disks, st, nullptr, &modes);
    CHECK(owner_calls(s).size() == 1);
    s.node_errors["/dev/vdc"] = -ENOENT;
    CHECK_FALSE(modes.added("block", "vdc"));
}

TEST_CASE("Debian's fixed group ids; the groups packages make have none") {
    CHECK(berth::config::debian_fixed_gid("dialout") == 20u);
    CHECK(berth::config::debian_fixed_gid("disk") == 6u);
    CHECK_FALSE(berth::config::debian_fixed_gid("kvm"));
    CHECK_FALSE(berth::config::debian_fixed_gid("input"));
}

TEST_CASE("PID 1 sets node modes only as the machine's init: in a pid namespace /dev is the host's") {
    sigset_t none;
    sigemptyset(&none);
    for (bool machine : {true, false}) {
        testing::FakeSys s;
        if (machine) s.files["/proc/2/comm"] = "kthreadd\n";
        else s.files["/proc/2/comm"] = "sh\n";  // pid 2 of a pid namespace: a process of its own
        char_node(s, "1:3", "null", "mem");
        berth::supervisor::EventLoop loop{none, [](const signalfd_siginfo&) {}};
        Devices devices(s, loop);
        CHECK(owner_calls(s).size() == (machine ? 1u : 0u));
        Uevent add{"add", "/devices/virtual/block/vdb",
                   {{"SUBSYSTEM", "block"}, {"DEVNAME", "vdb"}, {"MAJOR", "253"}, {"MINOR", "16"}}};
        devices.handle(add);
        CHECK(owner_calls(s).size() == (machine ? 2u : 0u));
    }
    testing::FakeSys bare;  // no /proc/2 at all
    CHECK_FALSE(NodeModes::machine_init(bare));
}
