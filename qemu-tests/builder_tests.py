"""Builder boot tests: OCI images made by umoci and skopeo, the iso-bios and zstd
outputs, and byte-for-byte reproducible builds."""
import hashlib
import os
import shutil
import subprocess

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
    finally:
        vm.close()


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
        again = build(args, yml, "web-iso", store, ["--format", "iso-bios", "--format", "tar",
                                                     "--format", "kernel+initrd"])
        second = {f: digest(again + f) for f in (".iso", ".tar")}
        assert first == second, f"{first} != {second}"
        initrd = digest(again + "-initrd.img")
        build(args, yml, "web-iso", store)
        assert digest(again + "-initrd.img") == initrd, "the initrd changed between two builds"
    s.check("two builds give identical iso, tar and initrd bytes", reproducible)
