"""Boot tests of examples/redis.yml (the Redis OS: PONG through --publish, data on a
persistent disk surviving a clean poweroff and a second boot) and examples/minimal.yml
(a shell on the serial console)."""
import json
import os
import shutil
import subprocess
import tempfile
import time

from harness import BootFailure, Vm, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
IMAGES = os.path.join(ROOT, "examples", "images")
BOOT_DONE = r"boot complete in \d+ ms: (\d+) onboot ok, (\d+) onboot failed, (\d+) services running"


def sh(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if r.returncode != 0:
        raise BootFailure(f"{' '.join(cmd)} failed:\n{r.stdout}")
    return r.stdout


def redis_cli(port, *words, timeout=60):
    """redis-cli's answer, retrying while the guest's network or Redis comes up."""
    deadline, last = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        r = subprocess.run(["redis-cli", "-p", str(port), *words], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=20)
        last = r.stdout.strip()
        if r.returncode == 0 and not last.startswith(("Could not connect", "Error")):
            return last
        time.sleep(1)
    raise BootFailure(f"redis-cli -p {port} {' '.join(words)}: {last}")


def redis_images(args):
    """The redis:7 image from Debian's packages in a store of its own, and the disk image.
    For another architecture than amd64, redis:7 is a multi-arch index (amd64 and the
    target), as images from a registry are."""
    store, extra = os.path.join(args.out, "redis-store"), os.path.join(args.out, "redis-images")
    shutil.rmtree(store, ignore_errors=True)
    env = dict(os.environ, BERTH=os.path.abspath(args.berth))
    arches = "amd64" if args.arch == "amd64" else f"amd64,{args.arch}"
    sh([os.path.join(IMAGES, "make-redis-image"), "--arch", arches, "--import", "redis:7", "--store", store,
        os.path.join(args.out, "redis-oci")], env=env)
    sh([os.path.join(IMAGES, "make-disk-image"), "--arch", args.arch, os.path.join(extra, "disk")])
    return store, extra


def build_redis(args, store, extra):
    out = os.path.join(args.out, "images")
    os.makedirs(out, exist_ok=True)
    cmd = [args.berth, "build", "-o", out, "--name", "redis", "--arch", args.arch, "--images", args.images,
           "--images", extra, "--store", store]
    if args.init:
        cmd += ["--init", args.init]
    sh(cmd + [os.path.join(ROOT, "examples", "redis.yml")])
    return os.path.join(out, "redis")


ELF_MACHINE = {62: "amd64", 183: "arm64"}  # EM_X86_64, EM_AARCH64
# redis-server links to it; in the container's root, which is `rootfs` in the
# bundle, or `lower` under the overlay of a writable root (LinuxKit's default).
REDIS_ELF = "usr/bin/redis-check-rdb"


def elf_arch(initrd, member):
    from arch_tests import cpio_member
    elf = None
    for root in ("rootfs", "lower"):
        try:
            elf = cpio_member(initrd, f"containers/services/redis/{root}/{member}")
            break
        except BootFailure:
            continue
    assert elf is not None, f"{initrd}: no {member} in the redis container's root"
    assert elf[:4] == b"\x7fELF", f"{initrd}: {member} is not an ELF file"
    return ELF_MACHINE.get(int.from_bytes(elf[18:20], "little"), "unknown")


def multi_arch_checks(args, s, store, prefix):
    """redis:7 is one index for amd64 and the target: each build takes its own entry."""
    def index():
        with open(os.path.join(store, "index.json")) as f:
            top = json.load(f)
        (entry,) = [m for m in top["manifests"]
                    if m.get("annotations", {}).get("org.opencontainers.image.ref.name", "").endswith("redis:7")]
        assert entry["mediaType"] == "application/vnd.oci.image.index.v1+json", entry
        with open(os.path.join(store, "blobs", *entry["digest"].split(":"))) as f:
            platforms = sorted(m["platform"]["architecture"] for m in json.load(f)["manifests"])
        assert platforms == sorted(["amd64", args.arch]), platforms
    s.check(f"redis:7 in the store is an image index for amd64 and {args.arch}", index)

    s.check(f"the {args.arch} build took the {args.arch} Redis from the index",
            lambda: _expect_eq(elf_arch(prefix + "-initrd.img", REDIS_ELF), args.arch))

    def amd64_from_same_index():
        with tempfile.TemporaryDirectory() as tmp:
            yml = os.path.join(tmp, "redis-only.yml")
            with open(yml, "w") as f:
                f.write("kernel:\n  package: linux-image-cloud-amd64\n  cmdline: console=ttyS0\n"
                        "services:\n  - name: redis\n    image: redis:7\n")
            sh([args.berth, "build", "-o", tmp, "--name", "r", "--arch", "amd64", "--store", store, yml])
            _expect_eq(elf_arch(os.path.join(tmp, "r-initrd.img"), REDIS_ELF), "amd64")
    s.check("the same YAML and index build for amd64 with the amd64 Redis", amd64_from_same_index)


def _expect_eq(got, want):
    assert got == want, f"got {got}, expected {want}"


def boot_redis(args, prefix, disk, n):
    port = free_port()
    vm = Vm(args.berth, prefix, os.path.join(args.out, f"redis{n}.console"), publish=[f"{port}:6379"],
            timeout=args.boot_timeout + 120, extra=["--disk", f"{disk},size=256M"])
    return vm, port


def redis_boot(args, s):
    if shutil.which("redis-cli") is None:
        raise BootFailure("redis-cli not found (apt-get install redis-tools)")
    store, extra = redis_images(args)
    prefix = build_redis(args, store, extra)
    if args.arch != "amd64":
        multi_arch_checks(args, s, store, prefix)
    disk = os.path.join(args.out, "redis-data.img")
    if os.path.exists(disk):
        os.unlink(disk)
    value = f"kept-{os.getpid()}-{int(time.time())}"

    vm, port = boot_redis(args, prefix, disk, 1)
    try:
        def boots():
            m = vm.expect(BOOT_DONE, args.boot_timeout)
            assert m.group(1, 2, 3) == ("2", "0", "2"), m.group(0)
            vm.expect(r"mount-disk: /dev/vda is blank, formatting it as ext4", 1)
        s.check("examples/redis.yml boots, formatting the blank disk", boots)
        def ping():
            got = redis_cli(port, "ping")
            assert got == "PONG", got
        s.check("redis-cli ping answers PONG through --publish", ping)

        def set_key():
            assert redis_cli(port, "set", "berth:k", value) == "OK"
            assert redis_cli(port, "get", "berth:k") == value
        s.check("SET then GET on the first boot", set_key)

        def powerdown():
            vm.monitor("system_powerdown")
            vm.expect(r"acpid: power button, powering off", 30)
            rc = vm.wait_exit(60)
            assert rc == 0, f"QEMU exited with {rc}"
            c = vm.console
            assert "Redis is now ready to exit" in c, "redis did not shut down cleanly"
            assert "poweroff now" in c
        s.check("the power button (system_powerdown) stops Redis and powers off cleanly", powerdown)
    finally:
        vm.close()

    vm, port = boot_redis(args, prefix, disk, 2)
    try:
        def second_boot():
            vm.expect(BOOT_DONE, args.boot_timeout)
            vm.expect(r"mount-disk: /dev/vda holds an ext file system, keeping it", 1)
            # Redis answers LOADING until it has read its dump; on a slow machine that
            # outlasts the boot summary.
            vm.expect(r"Ready to accept connections", args.boot_timeout)
            got = redis_cli(port, "get", "berth:k")
            assert got == value, f"GET after reboot gave {got!r}, expected {value!r}"
        s.check("the value written before the poweroff is there after booting the same disk again",
                second_boot)
    finally:
        vm.close()

    if args.arch == "amd64":
        redis_disk_boots(args, s, store, extra)


def redis_disk_boots(args, s, store, extra):
    """The same examples/redis.yml as UEFI disks: raw-efi booted twice (its data partition
    formatted on the first boot, Redis's value still there on the second) and qcow2-efi
    once; no --disk: the data lives on the image's own data partition."""
    out = os.path.join(args.out, "redis-disk")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    sh([args.berth, "build", "-o", out, "--name", "redis", "--images", args.images, "--images", extra,
        "--store", store, "--format", "raw-efi", "--format", "qcow2-efi",
        os.path.join(ROOT, "examples", "redis.yml")])
    value = f"disk-{os.getpid()}-{int(time.time())}"

    def boot(image, n):
        port = free_port()
        vm = Vm(args.berth, os.path.join(out, image), os.path.join(args.out, f"redis-disk{n}.console"),
                publish=[f"{port}:6379"], timeout=args.boot_timeout + 120)
        return vm, port

    vm, port = boot("redis-efi.img", 1)
    try:
        def first():
            vm.expect(BOOT_DONE, args.boot_timeout + 60)
            vm.expect(r"mount-disk: /dev/vda\d+ is blank, formatting it as ext4", 1)
            assert redis_cli(port, "set", "berth:d", value) == "OK"
        s.check("examples/redis.yml as raw-efi boots through UEFI, formats its data partition, takes a SET",
                first)
        def powerdown():
            vm.monitor("system_powerdown")
            assert vm.wait_exit(60) == 0, "QEMU did not exit cleanly"
        s.check("... and powers off on the power button", powerdown)
    finally:
        vm.close()

    vm, port = boot("redis-efi.img", 2)
    try:
        def second():
            vm.expect(BOOT_DONE, args.boot_timeout + 60)
            vm.expect(r"mount-disk: /dev/vda\d+ holds an ext file system, keeping it", 1)
            got = redis_cli(port, "get", "berth:d")
            assert got == value, f"GET after reboot gave {got!r}, expected {value!r}"
        s.check("the raw-efi disk booted again keeps the value on its data partition", second)
    finally:
        vm.close()

    vm, port = boot("redis-efi.qcow2", 3)
    try:
        def qcow2():
            vm.expect(BOOT_DONE, args.boot_timeout + 60)
            assert redis_cli(port, "ping") == "PONG"
        s.check("examples/redis.yml as qcow2-efi boots through UEFI and answers PING", qcow2)
    finally:
        vm.close()
    shutil.rmtree(out, ignore_errors=True)


def minimal_boot(args, s):
    out = os.path.join(args.out, "images")
    os.makedirs(out, exist_ok=True)
    sh([args.berth, "build", "-o", out, "--name", "minimal", "--images", args.images,
        os.path.join(ROOT, "examples", "minimal.yml")])
    vm = Vm(args.berth, os.path.join(out, "minimal"), os.path.join(args.out, "minimal.console"),
            timeout=args.boot_timeout, typing=True)
    try:
        def boots():
            m = vm.expect(BOOT_DONE, args.boot_timeout)
            assert m.group(1, 2, 3) == ("0", "0", "1"), m.group(0)
        s.check("examples/minimal.yml boots with one service", boots)

        def shell():
            # The prompt may have gone by before the test looked; Enter asks for another.
            deadline = time.monotonic() + 60
            while True:
                vm.type("\n")
                try:
                    vm.expect(r"berth# ", 3)
                    break
                except BootFailure:
                    if time.monotonic() > deadline:
                        raise
            vm.type("echo shell-$((6 * 7)) on $(cat /proc/sys/kernel/osrelease)\n")
            vm.expect(r"^shell-42 on \d+\.\d+", 30)
        s.check("a shell on the serial console runs a command", shell)

        def leave():
            vm.power_off_from_shell()
        s.check("the shell powers the machine off", leave)
    finally:
        vm.close()
