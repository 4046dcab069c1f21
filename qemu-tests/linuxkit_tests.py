"""Boot tests of LinuxKit-style YAML: the kernel from a kernel image (`kernel: image:`),
`init:` images merged into the root (LinuxKit's own init, runc and containerd
skipped) and a ca-certificates-like image's file read inside the guest."""
import os
import shutil
import subprocess

from harness import BootFailure, Vm

BOOT_DONE = r"boot complete in \d+ ms: (\d+) onboot ok, (\d+) onboot failed, (\d+) services running"
CERT = "-----BEGIN CERTIFICATE-----\nberth-test-ca\n-----END CERTIFICATE-----\n"

# Written as LinuxKit's examples are: the kernel image, the init section, no berth keys.
INIT_YML = """\
kernel:
  image: debian-kernel:cloud
  cmdline: "console=ttyS0 panic=-1 quiet"
init:
  - linuxkit/init:8f1e6a0747acbbb4d7e24dc98f97faa8d1c6cec7
  - linuxkit/runc:667e7ea2c426a2460ca21e3da065a57dbb3369c9
  - linuxkit/containerd:a988a1a8bcbacb2c0c4d3fb74b0d8d3c8c6d3d16
  - ca-certificates
onboot:
  - name: certs
    image: busybox
    binds:
      - /etc/ssl:/etc/ssl:ro
    command: ["sh", "-c", "echo certs: $(sed -n 2p /etc/ssl/certs/ca-certificates.crt)"]
"""


def sh(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if r.returncode != 0:
        raise BootFailure(f"{' '.join(cmd)} failed:\n{r.stdout}")
    return r.stdout


def init_images_boot(args, s):
    images = os.path.join(args.out, "init-images")
    shutil.rmtree(images, ignore_errors=True)
    certs = os.path.join(images, "ca-certificates", "etc", "ssl", "certs")
    os.makedirs(certs)
    with open(os.path.join(certs, "ca-certificates.crt"), "w") as f:
        f.write(CERT)
    yml = os.path.join(args.out, "init.yml")
    with open(yml, "w") as f:
        f.write(INIT_YML)
    out = os.path.join(args.out, "images")
    store = os.path.join(args.out, "store-init")
    log = {}

    def build():
        log["text"] = sh([args.berth, "build", "-o", out, "--name", "init", "--images", args.images,
                          "--images", images, "--store", store, yml])
    s.check("a LinuxKit-style YAML with kernel: image: and init: builds", build)

    def notes():
        text = log.get("text", "")
        for line, name in ((5, "linuxkit/init"), (6, "linuxkit/runc"), (7, "linuxkit/containerd")):
            assert f"init.yml:{line}:5: init: `{name}:" in text and "skipped" in text, text
        assert "init: ca-certificates" in text, text
    s.check("LinuxKit's init, runc and containerd are skipped with a note naming their line", notes)

    vm = Vm(args.berth, os.path.join(out, "init"), os.path.join(args.out, "init.console"),
            timeout=args.boot_timeout)
    try:
        def boots():
            m = vm.expect(BOOT_DONE, args.boot_timeout)
            assert m.group(1, 2) == ("1", "0"), m.group(0)
        s.check("the kernel from the kernel image boots the image", boots)
        s.check("the init: image's certificate bundle is in the root, read by a container",
                lambda: vm.expect(r"certs: berth-test-ca", 30))
    finally:
        vm.close()
