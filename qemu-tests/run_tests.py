#!/usr/bin/env python3
"""QEMU boot tests: build images with `berth build`, boot them with
`berth run qemu`, check what the serial console and the host see."""
import argparse
import gzip
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BootFailure, Suite, Vm, check_no_leftovers, free_port, http_get, mark_run  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def build(args, yml, name, formats=(), out=None, extra=()):
    """`berth build` of `yml` as NAME into OUT (default OUTDIR/images), with the
    YAML's outputs or --format for each of `formats`; returns OUT/NAME."""
    out = out or os.path.join(args.out, "images")
    os.makedirs(out, exist_ok=True)
    cmd = [args.berth, "build", "-o", out, "--name", name, "--images", args.images, "--arch", args.arch]
    for f in formats:
        cmd += ["--format", f]
    if args.init:
        cmd += ["--init", args.init]
    cmd += list(extra)
    cmd.append(yml)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise BootFailure(f"{' '.join(cmd)} failed:\n{r.stdout}")
    return os.path.join(out, name)


def line_no(console, pattern):
    for i, line in enumerate(console.splitlines()):
        if re.search(pattern, line):
            return i
    return -1


def initrd_names(prefix):
    """The paths in the image's initrd (gzip newc cpio, as berth writes it)."""
    data = gzip.open(prefix + "-initrd.img").read()
    names, at = [], 0
    while at + 110 <= len(data) and data[at:at + 6] == b"070701":
        size, name_len = int(data[at + 54:at + 62], 16), int(data[at + 94:at + 102], 16)
        name = data[at + 110:at + 110 + name_len - 1].decode()
        if name == "TRAILER!!!":
            break
        names.append(name)
        at = (at + 110 + name_len + 3) & ~3
        at = (at + size + 3) & ~3
    return names


BOOT_RE = r"boot complete in (\d+) ms: (\d+) onboot ok, (\d+) onboot failed, (\d+) services running"


def expect_boot(vm, timeout, ok, failed, running):
    """Waits for the boot summary, then compares its counts (fails at once on a mismatch)."""
    m = vm.expect(BOOT_RE, timeout)
    got = tuple(int(x) for x in m.group(2, 3, 4))
    assert got == (ok, failed, running), f"{m.group(0)}; expected {ok} ok, {failed} failed, {running} running"


def suite_boot(args, s):
    prefix = build(args, os.path.join(HERE, "images", "suite.yml"), "suite")
    web, ctl = free_port(), free_port()
    vm = Vm(args.berth, prefix, os.path.join(args.out, "suite.console"),
            publish=[f"{web}:80", f"{ctl}:8081"], timeout=args.boot_timeout)
    try:
        s.check("boot completes with the expected counts",
                lambda: expect_boot(vm, args.boot_timeout, ok=1, failed=1, running=5))

        def onboot_first():
            c = vm.console
            last_onboot = max(line_no(c, r"onboot 000-dhcpcd: exit status 0"),
                              line_no(c, r"onboot 001-fails: FAILED: exit status 3"))
            first_service = line_no(c, r"services \w+: started")
            assert min(last_onboot, first_service) >= 0, "markers missing"
            assert last_onboot < first_service, "a service started before onboot finished"
        s.check("onboot containers finish before any service starts", onboot_first)

        def no_seccomp_compile():
            # The built bundles carry their profiles precompiled (seccomp.bpf), and
            # PID 1 logs every launch that compiles one: there should be none.
            names = set(initrd_names(prefix))
            for c in ("onboot/000-dhcpcd", "services/web", "services/checker"):
                assert f"containers/{c}/seccomp.bpf" in names, f"{c} has no precompiled seccomp program"
            compiled = [line for line in vm.console.splitlines() if re.search(r"seccomp: .*profile compiled", line)]
            assert not compiled, "\n".join(compiled)
        s.check("no container compiles its seccomp profile at boot", no_seccomp_compile)

        def setups_overlap():
            # "[   812 ms] ...services web: started, pid 231 in 40 ms": its setup ran from 772 to 812 ms.
            spans = sorted((int(end) - int(took), int(end), name) for end, name, took in re.findall(
                r"\[\s*(\d+) ms\][^\n]*?services (\S+): started, pid \d+ in (\d+) ms", vm.console))
            assert len(spans) >= 2, f"service start lines: {spans}"
            assert any(b[0] < a[1] for a, b in zip(spans, spans[1:])), f"no two setups overlap: {spans}"
        s.check("independent services' setups overlap", setups_overlap)

        s.check("a failing onboot container is reported with its status",
                lambda: vm.expect(r"onboot 001-fails: FAILED: exit status 3", 1))
        s.check("a broken bundle fails alone, naming file and field",
                lambda: vm.expect(r"services broken: FAILED to start: .*broken/config\.json: process\.args\[0\]", 1))
        s.check("the service is pid 1 of its own pid namespace", lambda: vm.expect(r"check: pid=1$", 30))
        s.check("the service cannot write its root file system", lambda: vm.expect(r"check: rootfs read-only", 30))
        def root_in_place():
            # The initramfs is bound onto / where the kernel unpacked it: no tmpfs copy,
            # and the container's pivot_root root is a directory of that very mount
            # (mountinfo: root path in the source file system, type "rootfs"; a copy
            # would show tmpfs).
            c = vm.console
            assert re.search(r"initramfs bound onto / in place \(no copy\)", c), "no in-place bind logged"
            assert "handed over to tmpfs" not in c, "the initramfs was copied"
            assert not re.search(r"pivot_root into .*using MS_MOVE and chroot", c), "a container fell back to chroot"
            assert re.search(r"root file system is read-only", c), "/ was not made read-only"
            vm.expect(r"check: root mount /containers/services/checker/rootfs rootfs\s*$", 30)
        s.check("the root is the initramfs in place (no copy) and a container's pivot_root root is on it", root_in_place)
        s.check("the service holds only CAP_NET_BIND_SERVICE",
                lambda: (vm.expect(r"check: CapEff:\s+0000000000000400", 30),
                         vm.expect(r"check: CapBnd:\s+0000000000000400", 30)))
        s.check("the service runs with no_new_privs", lambda: vm.expect(r"check: NoNewPrivs:\s+1", 30))

        def page():
            status, body = http_get(f"http://127.0.0.1:{web}/", 60)
            assert status == 200 and "berth suite page" in body, body
        s.check("the page reaches the host through the published port", page)

        def crash_restart():
            vm.expect(r"crashy: run 1$", 30)
            status, body = http_get(f"http://127.0.0.1:{ctl}/cgi-bin/crash", 30)
            assert status == 200 and "crashed" in body, body
            vm.expect(r"services crashy: .*killed by signal 9 \(SIGKILL\)", 30)
            vm.expect(r"services crashy: restarting in 1000 ms", 10)
            vm.expect(r"crashy: run 2$", 30)
        s.check("a service killed from outside is restarted by its policy", crash_restart)

        def poweroff():
            vm.expect(r"graceful: ready", 30)
            t0 = time.monotonic()
            http_get(f"http://127.0.0.1:{ctl}/cgi-bin/poweroff", 30)
            rc = vm.wait_exit(10 + 5)
            took = time.monotonic() - t0
            c = vm.console
            term, end = line_no(c, r"graceful: got SIGTERM"), line_no(c, r"poweroff now")
            assert term >= 0, "the service's SIGTERM handler did not run"
            assert end > term, "poweroff before the services were stopped"
            assert rc == 0, f"QEMU exited with {rc}"
            assert took <= 10, f"QEMU took {took:.1f} s to exit"
        s.check("a poweroff request stops services with SIGTERM first and QEMU exits within 10 s", poweroff)
    finally:
        vm.close()


def example_boot(args, s):
    prefix = build(args, os.path.join(ROOT, "examples", "web.yml"), "web")
    port = free_port()
    vm = Vm(args.berth, prefix, os.path.join(args.out, "web.console"), publish=[f"{port}:80"],
            timeout=args.boot_timeout)
    try:
        s.check("examples/web.yml boots",
                lambda: expect_boot(vm, args.boot_timeout, ok=1, failed=0, running=1))

        def page():
            status, body = http_get(f"http://127.0.0.1:{port}/", 60)
            assert status == 200 and "berth" in body, body
        s.check("examples/web.yml serves its page to the host", page)

        def cad():
            vm.monitor("sendkey ctrl-alt-delete")
            vm.expect(r"SIGINT from pid 0: reboot", 10)
            rc = vm.wait_exit(20)
            assert rc == 0, f"QEMU exited with {rc}"
            assert line_no(vm.console, r"reboot now") >= 0
        s.check("Ctrl-Alt-Del reboots in order (QEMU exits)", cad)
    finally:
        vm.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--berth", required=True)
    p.add_argument("--images", required=True, help="directory of test images (busybox)")
    p.add_argument("--out", required=True)
    p.add_argument("--boot-timeout", type=int, default=120)
    # Another architecture (arm64, under TCG): the build checks of arch_tests.py, the
    # suite boot and the Redis OS (from a multi-arch index); --images then holds images
    # for that architecture and --host-images the host's (for the wrong-architecture check).
    p.add_argument("--arch", default="amd64", choices=("amd64", "arm64"))
    p.add_argument("--init", help="the PID 1 binary (default: berth's for --arch)")
    p.add_argument("--runc", help="the berth-runc binary the cgroup v2 guest runs (default: beside --berth's build)")
    p.add_argument("--host-images", help="host-architecture images (with --arch)")
    p.add_argument("--only", action="append", help="run only the boots whose name contains this (repeatable)")
    args = p.parse_args()
    # Absolute, so that every QEMU command line names it (see check_no_leftovers).
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    mark = mark_run()
    s = Suite()
    import builder_tests
    import device_tests
    import disk_output_tests
    import supervisor_tests
    import example_tests
    import lsm_tests
    import linuxkit_keys_tests
    import linuxkit_network_tests
    import linuxkit_tests
    import runtime_tests
    import update_tests
    import verity_tests
    import secureboot_tests
    boots = (suite_boot, example_boot, builder_tests.oci_boot, builder_tests.iso_boot,
             builder_tests.squashfs_boot, verity_tests.verity_boot, secureboot_tests.secureboot_boot,
             secureboot_tests.secureboot_ab_boot,
             update_tests.update_boot,
             builder_tests.podman_boot, disk_output_tests.disk_boot,
             example_tests.minimal_boot, example_tests.redis_boot, lsm_tests.apparmor_boot,
             linuxkit_tests.init_images_boot, linuxkit_tests.metadata_boot, linuxkit_tests.linuxkit_redis_boot,
             linuxkit_tests.linuxkit_getty_boot,
             linuxkit_keys_tests.linuxkit_keys_boot, linuxkit_network_tests.linuxkit_network_boot, device_tests.devices_boot) + \
        supervisor_tests.boots(build, expect_boot) + runtime_tests.boots(build, expect_boot)
    if args.arch != "amd64":
        import arch_tests

        def build_checks(a, s):
            arch_tests.build_checks(a, s, build)
        boots = (build_checks, suite_boot, example_tests.redis_boot)
        print(f"# {args.arch} images, booted with qemu-system-aarch64 -M virt (TCG)", flush=True)
    if args.only:
        boots = tuple(b for b in boots if any(o in b.__name__ for o in args.only))
    for boot in boots:
        try:
            boot(args, s)
        except BootFailure as e:
            s.failed += 1
            print(f"FAIL - {boot.__name__}: {e}", flush=True)
    left = check_no_leftovers(mark, args.out)
    if left:
        s.failed += 1
        print("FAIL - no process of this run is left (killed now):\n  " + "\n  ".join(left), flush=True)
    else:
        s.passed += 1
        print("ok   - no VM or other process of this run is left", flush=True)
    return s.finish()


if __name__ == "__main__":
    sys.exit(main())
