"""A machine described in LinuxKit's terms, split over two YAML files as LinuxKit
users do: a read-write volume filled by an onboot container and bound read-only
by a service of the same name, a bind of a symbolic link to a file, a mount given only by its type
and a relative destination, `capabilities: [none]`, `net: none`, and LinuxKit's
writable container root."""
import os
import subprocess

from harness import BootFailure, Vm

BASE_YML = """\
kernel:
  package: linux-image-cloud-amd64
  cmdline: "console=tty0 console=ttyS0 console=ttyAMA0"
volumes:
  - name: spool
onboot:
  # The same name as the service: LinuxKit allows it across sections.
  - name: lk
    image: busybox
    binds: [spool:/spool]
    command: ["sh", "-c", "echo from-onboot > /spool/greeting"]
services:
  - name: lk
    image: busybox
    capabilities: [none]
    net: none
    binds:
      - spool:/spool:ro
      - /etc/link.conf:etc/app.conf:ro
    mounts:
      - type: tmpfs
        destination: scratch
    command:
      - sh
      - -c
      - >-
        if touch /probe 2>/dev/null; then echo "lk: rootfs writable"; else echo "lk: rootfs read-only"; fi;
        echo "lk: spool=$(cat /spool/greeting)";
        if touch /spool/x 2>/dev/null; then echo "lk: spool writable"; else echo "lk: spool read-only"; fi;
        echo "lk: conf=$(cat /etc/app.conf)";
        echo "lk: net=$(ls /sys/class/net | tr '\\n' ' ')";
        grep CapEff /proc/self/status | sed "s/^/lk: /";
        grep -q " /scratch tmpfs" /proc/mounts && echo "lk: scratch is a tmpfs";
        exec sleep 100000
"""

FILES_YML = """\
files:
  - path: etc/app.conf.real
    contents: "conf-from-files\\n"
    mode: "0644"
  - path: etc/link.conf
    symlink: app.conf.real
"""


def linuxkit_keys_boot(args, s):
    work = os.path.join(args.out, "linuxkit-keys")
    os.makedirs(work, exist_ok=True)
    base, files = os.path.join(work, "base.yml"), os.path.join(work, "files.yml")
    with open(base, "w") as f:
        f.write(BASE_YML)
    with open(files, "w") as f:
        f.write(FILES_YML)
    out = os.path.join(args.out, "images")
    cmd = [args.berth, "build", "-o", out, "--name", "lk", "--images", args.images, "--arch", args.arch]
    if args.init:
        cmd += ["--init", args.init]
    r = subprocess.run(cmd + [base, files], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise BootFailure(f"{' '.join(cmd)} failed:\n{r.stdout}")
    prefix = os.path.join(out, "lk")

    def cmdline_kept():
        with open(prefix + "-cmdline") as f:
            got = f.read().strip()
        # Kept; ttyAMA0 is not on a PC, so berth's serial console goes last
        # (the kernel's /dev/console is the last console named that exists).
        want = "console=tty0 console=ttyS0 console=ttyAMA0"
        if args.arch == "amd64":
            want += " console=ttyS0"
        assert got == want, got
    s.check("a command line naming consoles is kept as written, berth's console last when needed", cmdline_kept)

    vm = Vm(args.berth, prefix, os.path.join(args.out, "lk.console"), timeout=args.boot_timeout)
    try:
        s.check("two merged files boot: 1 onboot ok, 1 service running",
                lambda: vm.expect(r"boot complete in \d+ ms: 1 onboot ok, 0 onboot failed, 1 services running",
                                  args.boot_timeout))
        s.check("a container root is writable by default (LinuxKit)", lambda: vm.expect(r"lk: rootfs writable", 30))
        s.check("a volume written by an onboot container is read by a service",
                lambda: vm.expect(r"lk: spool=from-onboot", 30))
        s.check("a volume bound ':ro' is read-only", lambda: vm.expect(r"lk: spool read-only", 30))
        s.check("a bind of a symbolic link to a file mounts the file",
                lambda: vm.expect(r"lk: conf=conf-from-files", 30))
        s.check("net: none leaves only loopback", lambda: vm.expect(r"lk: net=lo $", 30))
        s.check("capabilities: [none] leaves no capability",
                lambda: vm.expect(r"lk: CapEff:\s+0000000000000000", 30))
        s.check("a mount given by type with a relative destination is made",
                lambda: vm.expect(r"lk: scratch is a tmpfs", 30))
    finally:
        vm.close()
