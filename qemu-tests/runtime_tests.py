"""berth-runc on a pure cgroup v2 machine: the namespace tests run it on the
build host's cgroups (v1 or hybrid on many hosts), this boot runs its cgroup
checks in a berth guest, where PID 1 mounts cgroup2 alone with every controller
the kernel has. The checks are images/runc-cgroup-v2/check.sh, run by an onboot
container that holds the machine's /sys/fs/cgroup; each prints a console line."""
import os
import re

from harness import BootFailure, Vm

HERE = os.path.dirname(os.path.abspath(__file__))

# The image: berth-runc and the check script as files, and an onboot container
# with every capability, the machine's cgroup tree and tmpfs for the state and
# the inner container's root. No network, no service: the boot ends after it.
YML = """\
kernel:
  package: linux-image-cloud-amd64
  cmdline: "console=ttyS0 panic=-1 quiet"
onboot:
  - name: runc
    image: busybox
    capabilities: [all]
    seccomp: unconfined
    maskedPaths: []
    readonlyPaths: []
    devices: [{{path: all, type: a}}]
    binds: ["/opt/cgtest:/opt/cgtest:ro", "/sys/fs/cgroup:/sys/fs/cgroup:rw"]
    tmpfs: ["/tmp", "/run"]
    timeout: 120s
    command: ["sh", "/opt/cgtest/check.sh"]
files:
  - path: opt/cgtest/berth-runc
    source: {runc}
    mode: "0755"
  - path: opt/cgtest/check.sh
    source: {check}
    mode: "0755"
"""

# Checks that must be reported ok (a missing line fails as a failed one does).
REQUIRED = (
    "hierarchy", "no v1 hierarchy", "features say v2", "create with every limit this kernel has",
    "the container's process is in its cgroup", "memory.max", "pids.max", "cpu.max",
    "cpu.weight (shares 1024)", "cpuset.cpus", "cpuset.mems",
    "every root controller reaches the container's cgroup",
    "the device filter is an eBPF program (no devices.* files on v2)",
    "inside: the cgroup namespace's root is the container's cgroup", "inside: the cgroup2 mount shows the limits",
    "inside: the default devices stay allowed", "inside: linux.devices entries are allowed implicitly",
    "inside: mknod and use of an allowed device", "inside: a device outside the allow-list is refused (eBPF filter)",
    "inside: the read-only cgroup mount is read-only",
    "pids.max 10 holds a burst of 20 processes", "pids.events counts the refused forks",
    "a container with pids.max 1 starts",
    "update --pids-limit 77", "... pids.max", "update --memory 32m", "... memory.max",
    "update --cpu-quota 20000", "... cpu.max", "update --resources FILE", "... pids.max from the file",
    "events --stats: a stats object for the container", "events --stats: the pids limit from update",
    "events --stats: memory usage",
    "pause", "paused: the state", "paused: cgroup.freeze", "paused: cgroup.events says frozen",
    "paused: the process does not run",
    "resume", "resumed: the state", "resumed: cgroup.events says thawed", "resumed: the process runs again",
    "delete --force of a paused container", "delete removes the container's cgroup",
    "run: the exit status comes through", "run: the cgroup is gone when run returns",
)
# Controllers the guest kernel must offer at the root (Debian's cloud kernel has them all).
CONTROLLERS = ("cpuset", "cpu", "io", "memory", "pids")
# Anywhere in a console line (after PID 1's prefix); the shortest name that
# leaves a result, as results may hold ": " but names end at the first result.
CHECK_RE = re.compile(r"cgv2: (.+?): (ok|FAIL \(.*\)|skip \(.*\))\s*$")


def runc_binary(args):
    """The berth-runc of the same build as --berth (build/builder/berth)."""
    path = args.runc or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(args.berth))),
                                     "runtime-cli", "berth-runc")
    if not os.access(path, os.X_OK):
        raise BootFailure(f"no berth-runc at {path} (--runc)")
    return path


def runc_cgroup_v2_boot(args, s, build, expect_boot):
    yml = os.path.join(args.out, "runc-cgroup-v2.yml")
    with open(yml, "w") as f:
        f.write(YML.format(runc=runc_binary(args), check=os.path.join(HERE, "images", "runc-cgroup-v2", "check.sh")))
    prefix = build(args, yml, "runc-cgroup-v2")
    vm = Vm(args.berth, prefix, os.path.join(args.out, "runc-cgroup-v2.console"), timeout=args.boot_timeout)
    try:
        s.check("the cgroup v2 guest runs berth-runc's checks to the end",
                lambda: (vm.expect(r"cgv2: done", args.boot_timeout),
                         expect_boot(vm, 30, ok=1, failed=0, running=0)))
        lines = {}
        for line in vm.console.splitlines():
            m = CHECK_RE.search(line)
            if m:
                lines[m.group(1)] = m.group(2)

        def controllers():
            m = re.search(r"cgv2: hierarchy cgroup2 controllers: (.*)", vm.console)
            assert m, "no hierarchy line"
            have = m.group(1).split()
            missing = [c for c in CONTROLLERS if c not in have]
            assert not missing, f"controllers {missing} missing at the root (have {have})"
        s.check("pure cgroup v2 with every controller at the root (cpuset cpu io memory pids)", controllers)
        for name in REQUIRED:
            s.check(f"cgroup v2: {name}", lambda n=name: _ok(lines, n))
        for name, result in lines.items():
            if name not in REQUIRED:
                if result.startswith("skip"):
                    s.skip(f"cgroup v2: {name}", result[6:-1])
                else:
                    s.check(f"cgroup v2: {name}", lambda n=name: _ok(lines, n))
    finally:
        vm.close()


def _ok(lines, name):
    assert name in lines, "not reported"
    assert lines[name] == "ok", lines[name]


def boots(build, expect_boot):
    def runc_cgroup_v2(args, s):
        runc_cgroup_v2_boot(args, s, build, expect_boot)
    runc_cgroup_v2.__name__ = "runc_cgroup_v2_boot"
    return (runc_cgroup_v2,)
