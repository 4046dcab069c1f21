"""The verified root: a kernel+squashfs image built with `berth: {verity: true}`
boots through PID 1's dm-verity mapping; one flipped byte in a data block reads
as EIO; a wrong root hash on the command line refuses the root. One build,
three boots."""
import os
import random
import re
import shutil

from harness import BootFailure, Vm

PAYLOAD_BYTES = 256 * 1024  # two whole squashfs blocks: no fragment, stored as is

VERITY_YML = """\
kernel:
  package: linux-image-cloud-amd64
  cmdline: "console=ttyS0 panic=-1 quiet"
berth:
  verity: true
services:
  # Reads the whole payload (random bytes: squashfs stores them uncompressed, so
  # the test finds and corrupts them in the image) from the verified root.
  - name: reader
    image: busybox
    binds:
      - /etc/payload.bin:/payload.bin:ro
    command: ["sh", "-c", "if err=$(cat /payload.bin 2>&1 >/dev/null); then echo verity-read: ok; else echo verity-read: failed: $err; fi; exec sleep 100000"]
files:
  - path: etc/payload.bin
    source: payload.bin
"""


def variant(prefix, name, cmdline=None, flip_at=None):
    """A copy of the built image under another prefix: its own squashfs image
    (one byte flipped at `flip_at`) and command line; kernel and initrd shared."""
    new = os.path.join(os.path.dirname(prefix), name)
    for suffix in ("-kernel", "-squashfs-initrd.img"):
        if os.path.lexists(new + suffix):
            os.unlink(new + suffix)
        os.symlink(os.path.basename(prefix + suffix), new + suffix)
    shutil.copyfile(prefix + "-squashfs.img", new + "-squashfs.img")
    if flip_at is not None:
        with open(new + "-squashfs.img", "r+b") as f:
            f.seek(flip_at)
            b = f.read(1)
            f.seek(flip_at)
            f.write(bytes([b[0] ^ 0x01]))
    with open(prefix + "-cmdline") as f:
        line = f.read()
    with open(new + "-cmdline", "w") as f:
        f.write(cmdline if cmdline is not None else line)
    return new


def boot_figures(vm):
    """PID 1's clock when the root is mounted and when the boot is complete (ms)."""
    root = vm.expect(r"\[\s*(\d+) ms\] berth: root is the squashfs on", 1)
    done = vm.expect(r"boot complete in (\d+) ms", 1)
    return int(root.group(1)), int(done.group(1))


def verity_boot(args, s):
    work = os.path.join(args.out, "verity")
    os.makedirs(work, exist_ok=True)
    payload = random.Random(16).randbytes(PAYLOAD_BYTES)
    with open(os.path.join(work, "payload.bin"), "wb") as f:
        f.write(payload)
    yml = os.path.join(work, "verity.yml")
    with open(yml, "w") as f:
        f.write(VERITY_YML)
    from run_tests import build
    prefix = build(args, yml, "verity", formats=["kernel+squashfs"])
    with open(prefix + "-cmdline") as f:
        cmdline = f.read()
    m = re.search(r"berth\.verity\.roothash=([0-9a-f]{64})", cmdline)
    s.check("the command line carries the root hash, salt, data blocks and hash offset",
            lambda: m and all(k in cmdline for k in ("berth.verity.salt=", "berth.verity.datablocks=",
                                                      "berth.verity.hashoffset=")))
    if not m:
        raise BootFailure(f"no root hash in {cmdline!r}")
    root_hash = m.group(1)
    with open(prefix + "-squashfs.img", "rb") as f:
        image = f.read()
    # A 4 KiB block in the middle of the payload, as squashfs stored it.
    at = image.find(payload[64 * 1024:64 * 1024 + 4096])
    s.check("the payload lies uncompressed in the squashfs (so one of its blocks can be corrupted)",
            lambda: at > 0 and image.find(payload[64 * 1024:64 * 1024 + 4096], at + 1) < 0)

    vm = Vm(args.berth, prefix, os.path.join(work, "good.console"), timeout=args.boot_timeout)
    try:
        s.check("PID 1 maps the disk through dm-verity and logs the device and root hash",
                lambda: vm.expect(r"verified root: /dev/dm-\d+ maps /dev/vd[a-z] \(dm-verity, sha256, root hash "
                                  + root_hash + r"\)", args.boot_timeout))
        s.check("the squashfs root is mounted from the verity device",
                lambda: vm.expect(r"root is the squashfs on /dev/dm-\d+ \(read-only\)", 30))
        s.check("an intact image reads its files", lambda: vm.expect(r"verity-read: ok", args.boot_timeout))
        root_ms, done_ms = boot_figures(vm)
        print(f"# verity boot: root mounted at {root_ms} ms, boot complete in {done_ms} ms (PID 1's clock)", flush=True)
    finally:
        vm.close()

    if at > 0:
        bad = variant(prefix, "verity-flipped", flip_at=at + 2048)
        vm = Vm(args.berth, bad, os.path.join(work, "flipped.console"), timeout=args.boot_timeout)
        try:
            s.check("one flipped byte in a data block reads as EIO, never as data",
                    lambda: vm.expect(r"verity-read: failed: .*(I/O error|Input/output error)", args.boot_timeout))
            s.check("the kernel names the corrupted block", lambda: vm.expect(r"device-mapper: verity: .*data block", 5))

            def no_silent_success():
                assert "verity-read: ok" not in vm.console, "the corrupted payload was read"
            s.check("the corrupted read does not succeed", no_silent_success)
        finally:
            vm.close()

    wrong = root_hash[:-1] + ("0" if root_hash[-1] != "0" else "1")
    bad = variant(prefix, "verity-wronghash", cmdline=cmdline.replace(root_hash, wrong))
    vm = Vm(args.berth, bad, os.path.join(work, "wronghash.console"), timeout=args.boot_timeout)
    try:
        s.check("a wrong root hash refuses the root, loudly",
                lambda: vm.expect(r"PID 1 cannot go on: squashfs root: verified root refused .*Input/output error",
                                  args.boot_timeout))

        def never_mounted():
            assert "root is the squashfs" not in vm.console, "the unverified root was mounted"
        s.check("the root is never mounted unverified", never_mounted)
        s.check("PID 1 takes its emergency path (reboot)", lambda: vm.expect(r"emergency: .*reboot", 30))
    finally:
        vm.close()
