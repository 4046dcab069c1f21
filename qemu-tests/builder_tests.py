"""Builder boot tests: OCI images made by umoci and skopeo, the iso-bios and zstd
outputs, and byte-for-byte reproducible builds."""
import hashlib
import os
import shutil
import tempfile
import signal
import subprocess
import time

from harness import BootFailure, Vm, free_port, http_get

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def sh(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if r.returncode != 0:
        raise BootFailure(f"{' '.join(cmd)} failed:\n{r.stdout}")
    return r.stdout


def make_oci_images(args, store):
    """busybox as an OCI layout made by umoci; skopeo copies it to an oci-archive;
    both are imported into a fresh store."""
    work = os.path.join(args.out, "oci-work")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    layout, bundle = os.path.join(work, "layout"), os.path.join(work, "bundle")
    sh(["umoci", "init", "--layout", layout])
    sh(["umoci", "new", "--image", layout + ":bb"])
    sh(["umoci", "unpack", "--image", layout + ":bb", bundle])
    sh(["cp", "-a", os.path.join(args.images, "busybox") + "/.", os.path.join(bundle, "rootfs")])
    sh(["umoci", "repack", "--image", layout + ":bb", bundle])
    sh(["umoci", "config", "--image", layout + ":bb", "--config.env", "MARK=umoci-env",
        "--config.cmd", "sh", "--config.cmd", "-c", "--config.cmd", "echo umoci: $MARK; exec sleep 100000"])
    archive = os.path.join(work, "bb.tar")
    sh(["skopeo", "copy", "oci:" + layout + ":bb", "oci-archive:" + archive + ":bb"])
    berth = [args.berth, "image"]
    sh(berth + ["import", "--store", store, layout, "umoci-bb:1"])
    sh(berth + ["import", "--store", store, archive, "skopeo-bb:1"])
    listing = sh(berth + ["ls", "--store", store])
    assert "umoci-bb:1" in listing and "skopeo-bb:1" in listing, listing


def build(args, yml, name, store, extra=()):
    out = os.path.join(args.out, "images")
    os.makedirs(out, exist_ok=True)
    sh([args.berth, "build", "-o", out, "--name", name, "--images", args.images, "--store", store, *extra, yml])
    return os.path.join(out, name)


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def first_differences(a, b, limit=8):
    """Offsets and bytes where two files differ (for a reproducibility failure)."""
    with open(a, "rb") as f, open(b, "rb") as g:
        x, y = f.read(), g.read()
    out = [f"sizes {len(x)} {len(y)}"] if len(x) != len(y) else []
    for i in range(min(len(x), len(y))):
        if x[i] != y[i]:
            out.append(f"@{i}: {x[i]:02x} {y[i]:02x}")
            if len(out) >= limit:
                break
    return ", ".join(out)


def oci_boot(args, s):
    store = os.path.join(args.out, "store")
    shutil.rmtree(store, ignore_errors=True)
    s.check("umoci and skopeo images import into the store", lambda: make_oci_images(args, store))
    prefix = build(args, os.path.join(HERE, "images", "oci.yml"), "oci", store, ["--compress", "zstd"])
    port = free_port()
    vm = Vm(args.berth, prefix, os.path.join(args.out, "oci.console"), publish=[f"{port}:80"],
            timeout=args.boot_timeout)
    try:
        s.check("a zstd initrd with OCI-image services boots",
                lambda: vm.expect(r"boot complete in \d+ ms: 1 onboot ok, 0 onboot failed, 2 services running",
                                  args.boot_timeout))
        s.check("the umoci image runs its config's Cmd with its Env", lambda: vm.expect(r"umoci: umoci-env", 30))

        def page():
            status, body = http_get(f"http://127.0.0.1:{port}/", 60)
            assert status == 200 and "skopeo image" in body, body
        s.check("the skopeo image serves a page through --publish", page)
        s.check("QEMU exits within 10 s when `berth run qemu` is killed with SIGKILL",
                lambda: qemu_dies_with_berth(vm, 10))
    finally:
        vm.close()


def qemu_dies_with_berth(vm, seconds):
    """SIGKILL to `berth run qemu` alone (not its process group): its QEMU must go too."""
    qemus = vm.qemu_pids()
    assert qemus, "no QEMU child of `berth run qemu` found"
    os.kill(vm.proc.pid, signal.SIGKILL)
    vm.proc.wait(10)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = [p for p in qemus if os.path.exists(f"/proc/{p}") and not is_zombie(p)]
        if not alive:
            return
        time.sleep(0.1)
    raise BootFailure(f"QEMU {alive} still running {seconds} s after `berth run qemu` was SIGKILLed")


def is_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def iso_boot(args, s):
    store = os.path.join(args.out, "store")
    yml = os.path.join(ROOT, "examples", "web.yml")
    prefix = build(args, yml, "web-iso", store, ["--format", "iso-bios", "--format", "tar"])
    port = free_port()
    vm = Vm(args.berth, prefix + ".iso", os.path.join(args.out, "iso.console"), publish=[f"{port}:80"],
            timeout=args.boot_timeout)
    try:
        s.check("the iso-bios image boots without -kernel",
                lambda: vm.expect(r"boot complete in \d+ ms: 1 onboot ok", args.boot_timeout))

        def page():
            status, body = http_get(f"http://127.0.0.1:{port}/", 60)
            assert status == 200 and "berth" in body, body
        s.check("the iso-bios image serves its page", page)
    finally:
        vm.close()

    def reproducible():
        first = {f: digest(prefix + f) for f in (".iso", ".tar")}
        kept = prefix + ".first.iso"
        shutil.copyfile(prefix + ".iso", kept)
        # A different wall-clock second for the second build: nothing may depend on it.
        time.sleep(1.5)
        again = build(args, yml, "web-iso", store, ["--format", "iso-bios", "--format", "tar",
                                                     "--format", "kernel+initrd"])
        second = {f: digest(again + f) for f in (".iso", ".tar")}
        assert first == second, f"{first} != {second}; first differing bytes: {first_differences(kept, again + '.iso')}"
        os.unlink(kept)
        initrd = digest(again + "-initrd.img")
        build(args, yml, "web-iso", store)
        assert digest(again + "-initrd.img") == initrd, "the initrd changed between two builds"
    s.check("two builds give identical iso, tar and initrd bytes", reproducible)


def make_podman_images(args, store):
    """busybox imported with `podman import` into a private podman storage, saved
    with `podman save` as an oci-dir and as an oci-archive, both imported."""
    work = os.path.join(args.out, "podman-work")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    tarball = os.path.join(work, "busybox.tar")
    sh(["tar", "-C", os.path.join(args.images, "busybox"), "-cf", tarball, "."])
    # podman refuses a runroot over 50 characters: a checkout's out dir can be
    # deeper than that, so the runroot is a short temporary directory.
    runroot = tempfile.mkdtemp(prefix="berth-podman-", dir="/tmp")
    try:
        podman_save_and_import(args, store, work, tarball, runroot)
    finally:
        shutil.rmtree(runroot, ignore_errors=True)


def podman_save_and_import(args, store, work, tarball, runroot):
    podman = ["podman", "--root", os.path.join(work, "storage"), "--runroot", runroot,
              "--storage-driver", "vfs"]
    sh(podman + ["import", "--change", 'CMD ["sh", "-c", "echo podman: $MARK; exec sleep 100000"]',
                 "--change", "ENV MARK=podman-env", tarball, "localhost/podman-bb:1"])
    sh(podman + ["save", "--format", "oci-dir", "-o", os.path.join(work, "oci-dir"), "localhost/podman-bb:1"])
    sh(podman + ["save", "--format", "oci-archive", "-o", os.path.join(work, "oci.tar"), "localhost/podman-bb:1"])
    berth = [args.berth, "image"]
    sh(berth + ["import", "--store", store, os.path.join(work, "oci-dir"), "podman-dir:1"])
    sh(berth + ["import", "--store", store, os.path.join(work, "oci.tar"), "podman-archive:1"])
    listing = sh(berth + ["ls", "--store", store])
    assert "podman-dir:1" in listing and "podman-archive:1" in listing, listing


PODMAN_YML = """\
kernel:
  package: linux-image-cloud-amd64
  cmdline: "console=ttyS0 panic=-1 quiet"
services:
  - name: from-podman-dir
    image: podman-dir:1
  - name: from-podman-archive
    image: podman-archive:1
    command: ["sh", "-c", "echo podman archive: $MARK; exec sleep 100000"]
"""


def podman_boot(args, s):
    store = os.path.join(args.out, "store-podman")
    shutil.rmtree(store, ignore_errors=True)
    s.check("podman-saved images (oci-dir and oci-archive) import into the store",
            lambda: make_podman_images(args, store))
    yml = os.path.join(args.out, "podman.yml")
    with open(yml, "w") as f:
        f.write(PODMAN_YML)
    prefix = build(args, yml, "podman", store)
    vm = Vm(args.berth, prefix, os.path.join(args.out, "podman.console"), timeout=args.boot_timeout)
    try:
        s.check("podman-saved images boot as services",
                lambda: vm.expect(r"boot complete in \d+ ms: 0 onboot ok, 0 onboot failed, 2 services running",
                                  args.boot_timeout))
        s.check("the oci-dir image runs its config's Cmd with its Env", lambda: vm.expect(r"podman: podman-env", 30))
        s.check("the oci-archive image keeps its Env", lambda: vm.expect(r"podman archive: podman-env", 30))
    finally:
        vm.close()


SQUASHFS_YML = """\
kernel:
  package: linux-image-cloud-amd64
  cmdline: "console=ttyS0 panic=-1 quiet"
services:
  - name: ro
    image: busybox
    readonly: true
    command: ["sh", "-c", "if touch /x 2>/dev/null; then echo ro: writable; else echo ro: read-only; fi; exec sleep 100000"]
  # readonly: false: runtime.json's tmpfs + overlay on lower/, mounted by PID 1 on
  # the read-only squashfs root.
  - name: rw
    image: busybox
    readonly: false
    runtime:
      mkdir: [/var/lib/rw-data]
    command: ["sh", "-c", "echo overlay > /written && echo rw: $(cat /written) && exec sleep 100000"]
files:
  - path: etc/marker
    contents: "from the squashfs\\n"
"""


def squashfs_boot(args, s):
    yml = os.path.join(args.out, "squashfs.yml")
    with open(yml, "w") as f:
        f.write(SQUASHFS_YML)
    store = os.path.join(args.out, "store")
    prefix = build(args, yml, "sq", store, ["--format", "kernel+squashfs"])
    with open(prefix + "-squashfs.img", "rb") as f:
        assert f.read(4) == b"hsqs", "not a squashfs image"
    # `berth run qemu PREFIX` finds the squashfs (there is no PREFIX-initrd.img).
    vm = Vm(args.berth, prefix, os.path.join(args.out, "squashfs.console"), timeout=args.boot_timeout)
    try:
        s.check("PID 1 mounts the squashfs on the virtio disk as its root",
                lambda: vm.expect(r"root is the squashfs on /dev/vd[a-z] \(read-only\)", args.boot_timeout))
        s.check("the kernel+squashfs image boots its services",
                lambda: vm.expect(r"boot complete in \d+ ms: 0 onboot ok, 0 onboot failed, 2 services running",
                                  args.boot_timeout))
        s.check("a read-only container cannot write its root", lambda: vm.expect(r"ro: read-only", 30))
        s.check("a writable container writes through its runtime.json overlay", lambda: vm.expect(r"rw: overlay", 30))
    finally:
        vm.close()

    def reproducible():
        first = digest(prefix + "-squashfs.img"), digest(prefix + "-squashfs-initrd.img")
        again = build(args, yml, "sq", store, ["--format", "kernel+squashfs"])
        second = digest(again + "-squashfs.img"), digest(again + "-squashfs-initrd.img")
        assert first == second, f"{first} != {second}"
    s.check("two kernel+squashfs builds give identical bytes", reproducible)
