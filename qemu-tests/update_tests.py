"""A/B updates (docs/updates.md): one raw-efi-ab disk booted five times through
OVMF, QEMU restarted at each reboot (the disk carries the state):

  1. v1 on slot a: a truncated bundle and one whose signed manifest was
     changed are refused with nothing written; a marker goes on the data
     partition; the v2 bundle is applied and QEMU is killed in the middle of
     writing slot b (a power cut).
  1b. v1 boots from slot a again and slot b has no entry; the v2 bundle is
     applied (slot b, one try) and the machine reboots. Between the runs the
     host flips bytes at the start of slot b (a corrupted slot).
  1c. slot b's root is refused by dm-verity: PID 1's emergency path reboots.
  1d. the loader falls back to v1 on slot a (slot b out of tries); the v2
     bundle is applied again and the machine reboots.
  2. v2 on slot b, on trial: committed once its service is ready; the data
     partition still holds the marker; the v1 bundle (older) and a bundle
     for another image signed with the same key are refused, nothing written.
     A broken v2 (its service never ready) is applied to slot a.
  3. the broken v2 on slot a, on trial: no update is taken during the trial;
     not ready by the deadline, PID 1 logs why and reboots.
  4. the loader falls back to v2 on slot b, committed: no assessment; status
     shows slot a out of tries, and a rollback to it is refused; `berth logs
     --previous-boot` shows PID 1's log of 3 and why slot a was not committed.
     A v2 whose PID 1 hangs (berth.test-hang, with the i6300esb watchdog) is
     applied to slot a.
  5. the hanging v2 on slot a, on trial: PID 1 stops; the watchdog resets.
  6. the loader falls back to v2 on slot b; `--previous-boot` shows 5's log up
     to the announced hang.
The data partition's marker is read back in 2."""
import hashlib
import json
import os
import re
import shutil
import subprocess

from harness import BootFailure, Vm

NAME = "abtest"

YML = """\
kernel:
  package: linux-image-cloud-amd64
  cmdline: "console=ttyS0 panic=-1 quiet"
update:
  slotSize: 48M
  version: "{version}"
  commitWhenReady: [app]
  deadline: {deadline}
services:
  - name: app
    image: busybox
{readiness}    command: ["sh", "-c", "echo app: version {version} running; exec sleep 100000"]
  # A root shell on the console: the test types `berth update ...` there, in
  # PID 1's mount namespace (the CLI is PID 1's binary, /init).
  - name: shell
    image: busybox
    pid: host
    net: host
    capabilities: [all]
    seccomp: unconfined
    binds: [/dev:/dev]
    env: [HOME=/root, TERM=dumb]
    # An interactive shell ignores SIGTERM: stopping it for a reboot must not wait.
    stopSignal: SIGHUP
    command: ["getty", "-n", "-l", "/bin/sh", "115200", "ttyS0", "dumb"]
outputs: [raw-efi-ab]
"""

# A v2 whose PID 1 hangs 8 s after it starts its loop (test-only flag) under a
# 5 s hardware watchdog, its service never ready (so the slot stays on trial);
# the full kernel has the i6300esb driver (the cloud kernel has none).
HANG_YML = """\
kernel:
  package: linux-image-amd64
  cmdline: "console=ttyS0 panic=-1 quiet berth.test-hang=8"
  modules: [i6300esb]
watchdog:
  device: /dev/watchdog
  timeout: 5s
update:
  slotSize: 48M
  version: "2-hang"
  commitWhenReady: [app]
  deadline: 60s
services:
  - name: app
    image: busybox
    readiness:
      type: notify-fd
      timeout: 1h
    command: ["sh", "-c", "echo app: version 2-hang running; exec sleep 100000"]
outputs: [raw-efi-ab]
"""

# Never ready: notify-fd readiness, nothing ever written to the fd.
NEVER_READY = """\
    readiness:
      type: notify-fd
      timeout: 1h
"""


def ctl(cmd):
    return f"nsenter -t 1 -m /init ctl update {cmd}; echo update-rc=$?\n"


def update_boot(args, s):
    from run_tests import build
    work = os.path.join(args.out, "update")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    key = os.path.join(work, "update.key")
    with open(key, "w") as f:
        f.write(hashlib.sha256(b"update-test-key").hexdigest() + "\n")

    def make(version, deadline="20s", readiness="", out=None, name=NAME):
        yml = os.path.join(work, f"v{version}.yml")
        with open(yml, "w") as f:
            f.write(YML.format(version=version, deadline=deadline, readiness=readiness))
        return build(args, yml, name, out=out or os.path.join(work, f"v{version}"),
                     extra=["--update-key", key])

    v1 = make("1")
    v2 = make("2")
    bad = make("2-broken", deadline="6s", readiness=NEVER_READY)
    again = make("1", out=os.path.join(work, "v1-again"))
    # Signed with the same key, built for another image: refused by its name.
    other = make("2", out=os.path.join(work, "other"), name="abother")
    hang_yml = os.path.join(work, "v2-hang.yml")
    with open(hang_yml, "w") as f:
        f.write(HANG_YML)
    hang = build(args, hang_yml, NAME, out=os.path.join(work, "v2-hang"), extra=["--update-key", key])

    def same(a, b):
        with open(a, "rb") as f, open(b, "rb") as g:
            return hashlib.sha256(f.read()).digest() == hashlib.sha256(g.read()).digest()
    s.check("the A/B disk and the bundle are the same bytes when built twice",
            lambda: same(v1 + "-ab-efi.img", again + "-ab-efi.img") and same(v1 + "-update.bundle", again + "-update.bundle"))
    truncated = os.path.join(work, "truncated.bundle")
    with open(v2 + "-update.bundle", "rb") as f:
        data = f.read()
    with open(truncated, "wb") as f:
        f.write(data[:len(data) // 2 // 4096 * 4096])
    # The signed manifest says version=2; this one says version=3 and keeps the
    # signature: what a forged or corrupted bundle looks like.
    forged = os.path.join(work, "forged.bundle")
    at = data.index(b"\nversion=2\n") + len(b"\nversion=")
    with open(forged, "wb") as f:
        f.write(data[:at] + b"3" + data[at + 1:])
    disk = os.path.join(work, NAME + "-ab-efi.img")
    shutil.copyfile(v1 + "-ab-efi.img", disk)

    def boot(label, bundles, qemu=None):
        extra = ["--qemu", qemu] if qemu else []
        for b in bundles:
            extra += ["--disk", b]
        return Vm(args.berth, disk, os.path.join(args.out, f"update-{label}.console"), timeout=args.boot_timeout,
                  typing=True, extra=extra)

    def shell(vm, text, pattern, timeout=60):
        # Typed only once the shell runs: earlier keys are lost.
        vm.expect(r"Enter 'help' for a list of built-in commands", args.boot_timeout)
        vm.type(text)
        return vm.expect(pattern, timeout)

    # 1. v1 on slot a.
    vm = boot("1-v1", [truncated, forged, v2 + "-update.bundle"])
    try:
        s.check("v1 boots from slot a, committed", lambda: vm.expect(
            r"A/B boot: slot a[\s\S]*update: slot a is committed; no boot assessment", args.boot_timeout))
        s.check("v1's service runs", lambda: vm.expect(r"app: version 1 running", 30))
        vm.expect(r"boot complete", 30)
        s.check("a truncated bundle is refused, nothing written",
                lambda: shell(vm, ctl("apply /dev/vdb --no-reboot"),
                              r"refused, nothing written: the file is truncated[\s\S]*update-rc=1"))
        s.check("a bundle whose manifest does not match its signature is refused, nothing written",
                lambda: shell(vm, ctl("apply /dev/vdc --no-reboot"),
                              r"/dev/vdc: refused, nothing written: the signature does not match[\s\S]*update-rc=1"))
        shell(vm, "echo data-kept-across-updates | dd of=/dev/vda4 conv=fsync 2>/dev/null; echo marker-written\n",
              r"^marker-written")
        # A power cut while slot b is written: QEMU killed as soon as the write starts
        # (the entry comes only after the write, an fsync and a read-back of ~12 MiB).
        s.check("the v2 bundle starts to be written to slot b",
                lambda: shell(vm, ctl("apply /dev/vdd"), r"^writing slot b"))

        def cut():
            vm.kill()
            assert "slot b holds" not in vm.console, "the install finished before the power cut"
        s.check("power cut (QEMU killed) in the middle of the write", cut)
    finally:
        vm.close()

    # 1b. after the power cut.
    vm = boot("1b-powercut", [truncated, forged, v2 + "-update.bundle"])
    try:
        s.check("after the power cut the machine boots v1 from slot a, committed", lambda: vm.expect(
            r"A/B boot: slot a[\s\S]*update: slot a is committed; no boot assessment", args.boot_timeout))

        def no_entry_b():
            m = shell(vm, ctl("status"), r"booted from slot a[\s\S]*update-rc=0")
            assert "slot b:" not in m.group(0), "slot b has a boot entry after an interrupted install"
        s.check("status: slot b has no boot entry", no_entry_b)
        s.check("the v2 bundle is checked, written to slot b with one try, and the machine reboots",
                lambda: shell(vm, ctl("apply /dev/vdd"),
                              r"signature good[\s\S]*slot b holds abtest 2; boot entry berth-2-b\+1\.efi[\s\S]*reboot requested"))
        s.check("the reboot ends this QEMU run", lambda: vm.wait_exit(60) is not None)
    finally:
        vm.close()

    # A corrupted slot: one byte of slot b flipped on the host, in the last data
    # block before the verity superblock (the squashfs's tables, which the
    # mount reads). The superblock's magic stays, so the root is found and mapped.
    def corrupt_slot_b():
        table = json.loads(subprocess.run(["sfdisk", "--json", disk], check=True, stdout=subprocess.PIPE).stdout)
        part = next(p for p in table["partitiontable"]["partitions"] if p.get("name") == "berth-root-b")
        with open(disk, "r+b") as f:
            f.seek(part["start"] * 512)
            slot = f.read(part["size"] * 512)
            hash_offset = next(at for at in range(4096, len(slot), 4096) if slot[at:at + 8] == b"verity\0\0")
            f.seek(part["start"] * 512 + hash_offset - 1)
            f.write(bytes([slot[hash_offset - 1] ^ 0xff]))
    s.check("one byte of slot b's data flipped", corrupt_slot_b)

    # 1c. the corrupted slot b: verity refuses its root, the emergency path reboots.
    vm = boot("1c-corrupt", [])
    try:
        s.check("the loader boots slot b; dm-verity refuses its corrupted root", lambda: vm.expect(
            r"A/B boot: slot b[\s\S]*verified root refused[^\n]*Input/output error", args.boot_timeout))
        s.check("PID 1's emergency path reboots (the try is used up)", lambda: vm.wait_exit(60) is not None)
    finally:
        vm.close()

    # 1d. the fallback to v1; v2 applied again.
    vm = boot("1d-fallback", [v2 + "-update.bundle"])
    try:
        s.check("after the corrupted slot the loader falls back to v1 on slot a, committed", lambda: vm.expect(
            r"A/B boot: slot a[\s\S]*update: slot a is committed; no boot assessment", args.boot_timeout))
        s.check("status: slot b has no tries left", lambda: shell(
            vm, ctl("status"), r"slot b: berth-2-b\+0-1\.efi: no tries left[\s\S]*update-rc=0"))
        s.check("the v2 bundle is written to slot b again, and the machine reboots",
                lambda: shell(vm, ctl("apply /dev/vdb"),
                              r"slot b holds abtest 2; boot entry berth-3-b\+1\.efi[\s\S]*reboot requested"))
        s.check("the reboot ends this QEMU run", lambda: vm.wait_exit(60) is not None)
    finally:
        vm.close()

    # 2. v2 on slot b, on trial.
    vm = boot("2-v2", [bad + "-update.bundle", v1 + "-update.bundle", other + "-update.bundle"])
    try:
        s.check("the loader boots the new slot b", lambda: vm.expect(r"A/B boot: slot b", args.boot_timeout))
        s.check("slot b is on trial and is committed once `app` is ready",
                lambda: vm.expect(r"update: slot b is on trial[\s\S]*update: slot b: boot entry berth-3-b\+0-1\.efi -> "
                                  r"berth-3-b\.efi[\s\S]*update: slot b committed", 60))
        s.check("v2's service runs", lambda: vm.expect(r"app: version 2 running", 30))
        s.check("the data partition kept its contents",
                lambda: shell(vm, "dd if=/dev/vda4 bs=25 count=1 2>/dev/null; echo\n", r"^data-kept-across-updates"))
        s.check("status: slot b committed, slot a committed (the old version)",
                lambda: shell(vm, ctl("status"), r"booted from slot b[\s\S]*slot a: berth-1-a\.efi: committed"
                                                 r"[\s\S]*slot b: berth-3-b\.efi: committed[\s\S]*update-rc=0"))
        s.check("anti-rollback: the older v1 bundle is refused, nothing written", lambda: shell(
            vm, ctl("apply /dev/vdc --no-reboot"),
            r"/dev/vdc: refused, nothing written: version 1 is older than the running version 2 "
            r"\(--allow-downgrade installs it anyway\)[\s\S]*update-rc=1"))
        s.check("a bundle for another image, signed with the same key, is refused, nothing written", lambda: shell(
            vm, ctl("apply /dev/vdd --no-reboot"),
            r"/dev/vdd: refused, nothing written: the bundle is for image `abother`, this is `abtest`[\s\S]*update-rc=1"))
        shell(vm, ctl("apply /dev/vdb"), r"slot a holds abtest 2-broken[\s\S]*reboot requested")
        vm.wait_exit(60)
    finally:
        vm.close()

    # 3. the broken v2 on slot a: never ready.
    vm = boot("3-broken", [])
    try:
        s.check("the broken v2 boots from slot a on trial", lambda: vm.expect(
            r"A/B boot: slot a[\s\S]*update: slot a is on trial", args.boot_timeout))
        s.check("no update is installed while the running slot is on trial", lambda: shell(
            vm, ctl("apply /dev/null --no-reboot"), r"slot a is on trial \(berth-4-a\+0-1\.efi\)[^\n]*nothing written"))
        s.check("not ready by the deadline: PID 1 says why and reboots", lambda: vm.expect(
            r"update: slot a NOT committed: not ready within 6000 ms of boot: app: [^;\n]*; rebooting", 60))
        s.check("the machine reboots", lambda: vm.wait_exit(60) is not None)
    finally:
        vm.close()

    # 4. the fallback.
    vm = boot("4-fallback", [hang + "-update.bundle"])
    try:
        s.check("the loader falls back to v2 on slot b (committed: no assessment)", lambda: vm.expect(
            r"A/B boot: slot b[\s\S]*update: slot b is committed; no boot assessment", args.boot_timeout))
        s.check("v2's service runs again", lambda: vm.expect(r"app: version 2 running", 30))
        s.check("status: slot a has no tries left", lambda: shell(
            vm, ctl("status"), r"slot a: berth-4-a\+0-1\.efi: no tries left[\s\S]*update-rc=0"))
        s.check("rollback is refused: slot a has no usable entry", lambda: shell(
            vm, ctl("rollback --no-reboot"), r"slot a has no bootable entry: nothing to roll back to[\s\S]*update-rc=1"))
        # PID 1's log of the failed boot, kept on the disk's log partition.
        s.check("`berth logs --previous-boot` shows why slot a was not committed", lambda: shell(
            vm, "nsenter -t 1 -m /init ctl logs --previous-boot | grep -E 'on trial|NOT committed|boot log'; "
                "echo logs-rc=$?\n",
            r"update: slot a is on trial[\s\S]*update: slot a NOT committed: not ready within 6000 ms of boot: "
            r"app: running, not ready[\s\S]*logs-rc=0"))
        figures = re.findall(r"boot complete in (\d+) ms", vm.console)
        print(f"# update: fallback boot complete in {figures[-1] if figures else '?'} ms (PID 1's clock)", flush=True)
        shell(vm, ctl("apply /dev/vdb"), r"slot a holds abtest 2-hang[\s\S]*reboot requested")
        vm.wait_exit(60)
    finally:
        vm.close()

    # 5. the v2 whose PID 1 hangs, on slot a: the hardware watchdog resets the machine.
    # QEMU with the i6300esb at a fixed PCI slot: left to QEMU it takes the
    # disk's slot, and the firmware's saved boot entry (the disk carries its
    # EFI variables) would no longer point at the disk.
    qemu = os.path.join(work, "qemu-i6300esb")
    with open(qemu, "w") as f:
        f.write('#!/bin/sh\nexec qemu-system-x86_64 "$@" -device i6300esb,addr=0x10 -action watchdog=reset\n')
    os.chmod(qemu, 0o755)
    vm = boot("5-hang", [], qemu=qemu)
    try:
        s.check("the hanging v2 boots from slot a on trial, with the watchdog armed", lambda: vm.expect(
            r"A/B boot: slot a[\s\S]*watchdog: /dev/watchdog armed[\s\S]*update: slot a is on trial", args.boot_timeout))

        def reset():
            vm.expect(r"watchdog test: PID 1 hangs now", 60)
            assert vm.wait_exit(60) is not None, "QEMU did not exit"
            assert not re.search(r"reboot now|poweroff now|Kernel panic", vm.console), "not a watchdog reset"
        s.check("PID 1 hangs; the i6300esb watchdog resets the machine", reset)
    finally:
        vm.close()

    # 6. the fallback after the watchdog reset.
    vm = boot("6-after-reset", [])
    try:
        s.check("after the watchdog reset the loader falls back to v2 on slot b", lambda: vm.expect(
            r"A/B boot: slot b[\s\S]*update: slot b is committed; no boot assessment", args.boot_timeout))
        s.check("`berth logs --previous-boot` shows the hung boot's log up to the announced hang", lambda: shell(
            vm, "nsenter -t 1 -m /init ctl logs --previous-boot | grep -E 'on trial|hang'; echo logs-rc=$?\n",
            r"PID 1 will hang in 8 s[\s\S]*update: slot a is on trial[\s\S]*logs-rc=0"))
    finally:
        vm.close()
