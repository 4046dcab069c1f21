#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/fs.hpp"
#include "config/oci_names.hpp"
#include "runtime/capabilities.hpp"
#include "../skip.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/device_filter.hpp"
#include "runtime/child_report.hpp"
#include "runtime/namespaces.hpp"
#include "runtime/system.hpp"

using namespace berth::runtime;
namespace oci = berth::oci;

TEST_CASE("child reports round-trip") {
    ChildReport r{"mounts", 13, "mount `/proc`: Permission denied"};
    auto d = decode_report(encode_report(r));
    REQUIRE(d);
    CHECK(d->step == "mounts");
    CHECK(d->err == 13);
    CHECK(d->message == r.message);
    CHECK_FALSE(decode_report("garbage"));
    CHECK_FALSE(decode_report(std::string("a\0x\0", 4)));
    CHECK(encode_report({"s", 1, std::string(10000, 'x')}).size() < 4096);
}

TEST_CASE("namespace clone flags: new ones only, cgroup deferred") {
    oci::Linux l;
    l.namespaces = {{oci::NamespaceType::pid, ""},
                    {oci::NamespaceType::network, "/run/netns/a"},
                    {oci::NamespaceType::mount, ""},
                    {oci::NamespaceType::cgroup, ""},
                    {oci::NamespaceType::user, ""}};
    CHECK(clone_namespace_flags(l) == (unsigned long)(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUSER));
    CHECK(clone_flag(oci::NamespaceType::uts) == CLONE_NEWUTS);
    CHECK(clone_flag(oci::NamespaceType::ipc) == CLONE_NEWIPC);
}

TEST_CASE("capability names used by the runtime") {
    CHECK(oci::capability_from_name("CAP_NET_BIND_SERVICE") == 10);
    CHECK(oci::capability_name(38) == "CAP_PERFMON");
}

TEST_CASE("cgroup v2 resource files") {
    oci::Resources r;
    r.memory.emplace();
    r.memory->limit = 67108864;
    r.memory->reservation = 1048576;
    r.memory->swap = 134217728;
    r.cpu.emplace();
    r.cpu->shares = 1024;
    r.cpu->quota = 50000;
    r.cpu->period = 100000;
    r.cpu->cpus = "0-1";
    r.pids = oci::PidsResources{64};
    auto files = cgroup_resource_files(r);
    using P = std::pair<std::string, std::string>;
    CHECK(files == std::vector<P>{{"memory.max", "67108864"},
                                  {"memory.low", "1048576"},
                                  {"memory.swap.max", "67108864"},
                                  {"cpu.weight", "39"},
                                  {"cpu.max", "50000 100000"},
                                  {"cpuset.cpus", "0-1"},
                                  {"pids.max", "64"}});

    oci::Resources unlimited;
    unlimited.memory.emplace();
    unlimited.memory->limit = -1;
    unlimited.memory->swap = -1;
    unlimited.cpu.emplace();
    unlimited.cpu->quota = -1;
    unlimited.pids = oci::PidsResources{0};
    CHECK(cgroup_resource_files(unlimited) == std::vector<P>{{"memory.max", "max"},
                                                            {"memory.swap.max", "max"},
                                                            {"cpu.max", "max 100000"},
                                                            {"pids.max", "max"}});
    CHECK(shares_to_weight(2) == 1);
    CHECK(shares_to_weight(262144) == 10000);
    CHECK(shares_to_weight(1) == 1);
}

TEST_CASE("sysctl keys map to /proc/sys") {
    CHECK(sysctl_path("net.ipv4.ip_forward") == "/proc/sys/net/ipv4/ip_forward");
    CHECK(sysctl_path("net/ipv4/conf/eth0.100/forwarding") == "/proc/sys/net/ipv4/conf/eth0.100/forwarding");
}

TEST_CASE("blockIO, hugepage limits and unified map to cgroup v2 files, unified last") {
    oci::Resources r;
    r.block_io = oci::BlockIO{};
    r.block_io->weight = 10;
    oci::BlockIODevice d;
    d.major = 8;
    d.minor = 0;
    d.weight = 1000;
    r.block_io->weight_device = {d};
    d.rate = 1048576;
    r.block_io->throttle_read_bps = {d};
    d.rate = 200;
    r.block_io->throttle_write_iops = {d};
    r.hugepage_limits = {{"2MB", 4194304}};
    r.unified = {{"memory.high", "1000000"}, {"io.weight", "default 77"}};
    using P = std::pair<std::string, std::string>;
    CHECK(cgroup_resource_files(r) == std::vector<P>{{"io.weight", "default 1"},
                                                     {"io.weight", "8:0 10000"},
                                                     {"io.max", "8:0 rbps=1048576"},
                                                     {"io.max", "8:0 wiops=200"},
                                                     {"hugetlb.2MB.max", "4194304"},
                                                     {"io.weight", "default 77"},
                                                     {"memory.high", "1000000"}});
    CHECK(blkio_to_io_weight(500) == 4950);
}

TEST_CASE("the device program: rules last to first, then deny; defaults appended") {
    std::vector<oci::DeviceRule> rules = {{false, 'a', std::nullopt, std::nullopt, "rwm"},
                                          {true, 'c', 10, 200, "m"}};
    auto all = device_rules_with_defaults(rules);
    REQUIRE(all.size() == rules.size() + 12);
    CHECK(all[2].type == 'c');  // mknod of any node, as runc allows it
    CHECK(all[2].access == "m");
    CHECK(all[2].major == -1);
    CHECK(all[3].type == 'b');
    CHECK(all[3].access == "m");
    CHECK(all[all.size() - 2].major == 136);
    CHECK(all[all.size() - 2].minor == -1);
    CHECK(all.back().major == 10);  // /dev/net/tun
    CHECK(all.back().minor == 200);
    auto prog = device_filter_program(rules);
    // prologue 6; c 10:200 m: type, mov+and+jne, major, minor, verdict 2 = 8; deny-all: verdict 2,
    // which ends the program (a default after it would be unreachable)
    CHECK(prog.size() == 6 + 8 + 2);
    CHECK(device_filter_program({rules[1]}).size() == 6 + 8 + 2);  // the default deny instead
    CHECK(prog.back().code == (BPF_JMP | BPF_EXIT));
    CHECK(prog[6].code == (BPF_JMP | BPF_JNE | BPF_K));
    CHECK(prog[6].off == 7);  // to the next rule's block
    CHECK(prog[6 + 6].imm == 1);  // allow
    CHECK(prog[6 + 8].imm == 0);  // the deny-all rule's verdict
}

// apply_caps sets exactly the sets asked for (capset, in a child: the test
// process keeps its own). Capabilities above 31 land in the second word.
TEST_CASE("apply_caps sets effective, permitted and inheritable exactly") {
    if (::geteuid() != 0) BERTH_SKIP("needs root");
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(fds[0]);
        std::string out;
        try {
            oci::Capabilities caps;
            caps.permitted = {0, 12, 21, 38};  // CHOWN, NET_ADMIN, SYS_ADMIN, PERFMON
            caps.effective = {0, 38};
            caps.inheritable = {12};
            apply_caps(caps);
            std::string status = berth::fs::read_file("/proc/self/status");
            for (const char* key : {"CapInh:", "CapPrm:", "CapEff:"}) {
                auto at = status.find(key);
                out += status.substr(at, status.find('\n', at) - at) + "\n";
            }
        } catch (const std::exception& e) {
            out = e.what();
        }
        (void)!::write(fds[1], out.data(), out.size());
        ::_exit(0);
    }
    ::close(fds[1]);
    std::string got;
    char buf[512];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) got.append(buf, size_t(n));
    ::close(fds[0]);
    int st = 0;
    ::waitpid(pid, &st, 0);
    bool perfmon = kernel_last_cap() >= 38;
    CHECK(got == std::string("CapInh:\t0000000000001000\n") +
                     (perfmon ? "CapPrm:\t0000004000201001\nCapEff:\t0000004000000001\n"
                              : "CapPrm:\t0000000000201001\nCapEff:\t0000000000000001\n"));
}

TEST_CASE("kernel_last_cap finds the kernel's last capability") {
    auto text = berth::fs::try_read_file("/proc/sys/kernel/cap_last_cap");
    if (!text) BERTH_SKIP("no /proc/sys/kernel/cap_last_cap");
    CHECK(kernel_last_cap() == std::stoi(*text));
    CHECK(kernel_last_cap() == std::stoi(*text));  // the cached answer too
}
