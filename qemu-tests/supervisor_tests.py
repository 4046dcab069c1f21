"""Supervisor boot tests that need a real kernel: delays that ignore a jump of
the wall clock, Ctrl-Alt-Del stopping services in reverse dependency order, and
the hardware watchdog (QEMU's i6300esb) resetting a machine whose PID 1 hangs."""
import os
import re
import stat
import time

from harness import Vm

HERE = os.path.dirname(os.path.abspath(__file__))

MS = r"^\[ *(\d+) ms\]"


def crash_restart_gaps(console):
    """(wanted, took) in ms for each 'restarting in N ms' -> next 'started' of `crash`."""
    gaps, want, t = [], None, None
    for line in console.splitlines():
        m = re.search(MS + r".*services crash: restarting in (\d+) ms", line)
        if m:
            t, want = int(m.group(1)), int(m.group(2))
            continue
        # "started, pid N in M ms": the timer fired M ms before the line.
        m = re.search(MS + r".*services crash: started, pid \d+ in (\d+) ms", line)
        if m and want is not None:
            gaps.append((want, int(m.group(1)) - int(m.group(2)) - t))
            want = None
    return gaps


def first_line(console, pattern):
    for i, line in enumerate(console.splitlines()):
        if re.search(pattern, line):
            return i
    return -1


def order_boot(args, s, build, expect_boot):
    prefix = build(args, os.path.join(HERE, "images", "supervisor.yml"), "supervisor")
    vm = Vm(args.berth, prefix, os.path.join(args.out, "supervisor.console"), timeout=args.boot_timeout + 60)
    try:
        s.check("supervisor image boots", lambda: vm.expect(r"boot complete in \d+ ms: 0 onboot ok, 0 onboot failed",
                                                            args.boot_timeout))

        def clock_jump():
            vm.expect(r"clock: done", 60)
            deadline = time.monotonic() + 30
            while True:  # one restart before each jump, one across each, one after
                c = vm.console
                # Only the restarts before the fork bomb starts: it may slow a TCG guest.
                bomb = c.find("bomb: starting")
                gaps = crash_restart_gaps(c if bomb < 0 else c[:bomb])
                if len(gaps) >= 3 or bomb >= 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            up = re.search(r"clock: jumped from (\d+) to (\d+)", c)
            back = re.search(r"clock: jumped back to (\d+)", c)
            assert up and back, "clock lines missing"
            y0, y1, y2 = int(up.group(1)), int(up.group(2)), int(back.group(1))
            assert (y1, y2) in ((y0 + 1, y0 - 1), (y0 + 2, y0)), f"the clock did not jump: {y0} -> {y1} -> {y2}"
            assert len(gaps) >= 3, f"only {len(gaps)} restarts seen: {gaps}"
            # The gap is computed from three whole-millisecond figures (two log
            # stamps and the setup time), so it may read up to 2 ms short.
            bad = [g for g in gaps if not (g[0] == 5000 and 4998 <= g[1] <= 5500)]
            assert not bad, f"restart delays off by more than 10 %: {bad} (all: {gaps})"
        s.check("a wall-clock jump of +1 and -2 years changes no restart delay (5000 ms, +10 %)", clock_jump)

        def fork_bomb():
            # Up to the end of the line: the console arrives in pieces, and a match
            # on a partly received line would read an empty `base`.
            m = vm.expect(r"probe: ps-ms=(\d+) bomb-pids=(\d*) base=(\S*)\r?\n", 120)
            ps_ms, pids, base = int(m.group(1)), m.group(2), m.group(3)
            print(f"  berth ps during the fork bomb (TCG, best of 5, process start included): {ps_ms} ms")
            assert pids and 32 <= int(pids) <= 64, f"bomb pids {pids!r}: not held at pids.max 64"
            assert base == '"state":"running"', base
            assert ps_ms < 500, f"berth ps took {ps_ms} ms"
            vm.expect(r'probe: bomb-after-stop="state":"exited"', 30)
        s.check("a fork bomb held by pids.max leaves ps (< 500 ms under TCG) and the others responsive; stop ends it",
                fork_bomb)

        def cad():
            vm.monitor("sendkey ctrl-alt-delete")
            vm.expect(r"SIGINT from pid 0: reboot", 20)
            rc = vm.wait_exit(60)
            assert rc == 0, f"QEMU exited with {rc}"
            c = vm.console
            stops = [first_line(c, rf"services {n}: stopping \(shutdown\)") for n in ("top", "middle", "base")]
            said = [first_line(c, rf"order: {n} stops") for n in ("top", "middle", "base")]
            assert min(stops + said) >= 0, f"stop lines missing: {stops} {said}"
            assert stops == sorted(stops) and said == sorted(said), f"not in reverse dependency order: {stops} {said}"
            assert said[0] < stops[1] and said[1] < stops[2], "a service stopped before its dependents had exited"
            assert first_line(c, r"reboot now") > said[2]
        s.check("Ctrl-Alt-Del: services stop in reverse dependency order (top, middle, base), then reboot", cad)
    finally:
        vm.close()


def qemu_with_watchdog(args):
    """`berth run qemu --qemu` wrapper adding QEMU's emulated i6300esb watchdog."""
    path = os.path.join(args.out, "qemu-i6300esb")
    with open(path, "w") as f:
        f.write('#!/bin/sh\nexec qemu-system-x86_64 "$@" -device i6300esb -action watchdog=reset\n')
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path


def watchdog_boot(args, s, build, expect_boot):
    prefix = build(args, os.path.join(HERE, "images", "watchdog.yml"), "watchdog")
    qemu = qemu_with_watchdog(args)

    vm = Vm(args.berth, prefix, os.path.join(args.out, "watchdog.console"), timeout=args.boot_timeout + 60,
            extra=["--qemu", qemu])
    try:
        s.check("watchdog image boots and arms /dev/watchdog (i6300esb)",
                lambda: (expect_boot(vm, args.boot_timeout, ok=0, failed=0, running=1),
                         vm.expect(r"watchdog: /dev/watchdog armed, timeout 5 s", 1)))

        def survives():
            time.sleep(20)  # four timeouts: only petting keeps it up
            assert vm.proc.poll() is None, "QEMU exited while PID 1 was petting the watchdog"
            assert len(re.findall(r"starting as PID 1", vm.console)) == 1, "the machine was reset"
        s.check("PID 1 pets the watchdog: the machine stays up 20 s (timeout 5 s)", survives)

        def orderly():
            vm.monitor("sendkey ctrl-alt-delete")
            rc = vm.wait_exit(60)
            c = vm.console
            assert rc == 0, f"QEMU exited with {rc}"
            assert first_line(c, r"watchdog: disarmed") >= 0 and first_line(c, r"reboot now") > first_line(
                c, r"watchdog: disarmed"), "no magic close before reboot(2)"
        s.check("an orderly reboot disarms the watchdog (magic close) before reboot(2)", orderly)
    finally:
        vm.close()

    vm = Vm(args.berth, prefix, os.path.join(args.out, "watchdog-hang.console"), timeout=args.boot_timeout + 60,
            extra=["--qemu", qemu, "--append", "berth.test-hang=3"])
    try:
        def reset():
            vm.expect(r"watchdog test: PID 1 hangs now", args.boot_timeout)
            t0 = time.monotonic()
            rc = vm.wait_exit(60)  # -no-reboot: QEMU exits when the watchdog resets the machine
            took = time.monotonic() - t0
            c = vm.console
            assert rc == 0, f"QEMU exited with {rc}"
            assert first_line(c, r"reboot now|poweroff now|Kernel panic") < 0, "not a watchdog reset"
            # The last keepalive came at most one interval (1.67 s) before the hang.
            assert took >= 3, f"reset {took:.1f} s after the hang: sooner than the 5 s timeout allows"
            print(f"  reset {took:.1f} s after PID 1 stopped (timeout 5 s, petted every 1.67 s)")
        s.check("a hung PID 1 (berth.test-hang) stops petting: the i6300esb resets the VM", reset)
    finally:
        vm.close()


def boots(build, expect_boot):
    def order(args, s):
        order_boot(args, s, build, expect_boot)

    def watchdog(args, s):
        watchdog_boot(args, s, build, expect_boot)
    order.__name__, watchdog.__name__ = "supervisor_order_boot", "supervisor_watchdog_boot"
    return (order, watchdog)
