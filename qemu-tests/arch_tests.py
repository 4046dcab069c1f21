"""Checks for images built for another architecture (`run_tests.py --arch arm64`).

The boot itself reuses run_tests.suite_boot with the same suite YAML; these are
the build-side checks that need no boot: the outputs really are for the target,
and an image for the wrong architecture is refused with a message naming it."""
import gzip
import os
import subprocess
import tempfile

from harness import BootFailure

HERE = os.path.dirname(os.path.abspath(__file__))

ELF_MACHINE = {"amd64": 62, "arm64": 183}  # EM_X86_64, EM_AARCH64


def kernel_arch(path):
    with open(path, "rb") as f:
        head = f.read(0x210)
    if head[56:60] == b"ARM\x64":
        return "arm64"
    if head[0x202:0x206] == b"HdrS":
        return "amd64"
    return "unknown"


def cpio_member(initrd, name):
    """The bytes of one regular file in a gzip newc cpio archive."""
    with open(initrd, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    off = 0
    while off + 110 <= len(data):
        hdr = data[off:off + 110]
        if hdr[:6] not in (b"070701", b"070702"):
            raise BootFailure(f"{initrd}: bad cpio header at {off}")
        size = int(hdr[54:62], 16)
        namesize = int(hdr[94:102], 16)
        path = data[off + 110:off + 110 + namesize - 1].decode()
        off = (off + 110 + namesize + 3) & ~3
        if path == name:
            return data[off:off + size]
        if path == "TRAILER!!!":
            break
        off = (off + size + 3) & ~3
    raise BootFailure(f"{initrd}: no {name}")


def build_checks(args, s, build):
    """`build(args, yml, name)` is run_tests.build; it passes --arch."""
    prefix = build(args, os.path.join(HERE, "images", "suite.yml"), "suite")

    def kernel():
        got = kernel_arch(prefix + "-kernel")
        assert got == args.arch, f"{prefix}-kernel is a kernel for {got}"
    s.check(f"the kernel is an {args.arch} kernel", kernel)

    def init():
        elf = cpio_member(prefix + "-initrd.img", "init")
        machine = int.from_bytes(elf[18:20], "little")
        assert elf[:4] == b"\x7fELF" and machine == ELF_MACHINE[args.arch], f"/init has ELF machine {machine}"
    s.check(f"/init in the initrd is the {args.arch} PID 1", init)

    def console():
        with open(prefix + "-cmdline") as f:
            line = f.read()
        want = "console=ttyAMA0" if args.arch == "arm64" else "console=ttyS0"
        assert want in line.split(), f"cmdline is {line!r}"
    s.check("the serial console on the command line is the target's", console)

    def wrong_image():
        # The host's busybox image is for the host, not for the target.
        host_images = args.host_images
        if not host_images:
            return
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [args.berth, "build", "-o", tmp, "--arch", args.arch, "--images", host_images]
            if args.init:
                cmd += ["--init", args.init]
            cmd.append(os.path.join(HERE, "images", "suite.yml"))
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
        assert r.returncode != 0, "building with images for the wrong architecture succeeded"
        assert "image `busybox`" in r.stdout and f"not {args.arch}" in r.stdout, r.stdout
    s.check("an image for the wrong architecture is refused, naming the image", wrong_image)
