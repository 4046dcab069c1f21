"""Disk image outputs: one small image built once in every disk format (twice, for
byte-for-byte reproducibility), booted by `berth run qemu` through its firmware
(SeaBIOS or OVMF) to "boot complete" and its page fetched; on the first boot its
blank data partition is found by its GPT name, formatted and mounted by an onboot
container (the examples' disk image).

raw-bios, raw-efi and aws are the same bytes, and so are gcp's disk.raw; qcow2-bios
and qcow2-efi are one file too (the disk boots both ways); `qemu-img compare` shows
that QEMU reads the qcow2 and the vhd as that same disk. The default run boots each
distinct file and each boot path of it: raw-bios (BIOS) and raw-efi (UEFI), the
qcow2 (BIOS), the vhd, gcp (unpacked by `berth run qemu`) and iso-efi (UEFI from a
CD). aws is checked by its bytes only (it is raw-bios's file under another name),
and the qcow2's UEFI boot is that of examples/web.yml built as `qcow2-efi` (its
`modules: auto` drivers through OVMF), so that an example boots as a disk too.
BERTH_DISK_BOOT_ALL=1 also boots this image's aws and qcow2-efi files. The figures
line gives each boot's seconds to "boot complete"."""
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import time

from harness import BootFailure, Vm, free_port, http_get

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DISK_YML = """\
kernel:
  package: linux-image-cloud-amd64
  cmdline: "console=ttyS0 panic=-1 quiet"
  modules: [virtio_pci, virtio_net, virtio_blk]
berth:
  data_partition:
    size: 8M
onboot:
  - name: dhcpcd
    image: busybox
    net: host
    capabilities: [CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE]
    command: ["udhcpc", "-i", "eth0", "-q", "-n", "-f", "-t", "10", "-s", "/usr/share/udhcpc/default.script"]
  # The data partition, found by its GPT name, formatted when blank (first boot) and
  # mounted by the examples' disk image.
  - name: data
    image: disk
    capabilities: [CAP_SYS_ADMIN]
    seccomp: unconfined
    binds: ["/dev:/dev"]
    command:
      - sh
      - -c
      - 'for d in /sys/class/block/*; do grep -qx PARTNAME=berth-data $d/uevent || continue; echo "data partition: ${d##*/}"; exec /sbin/mount-disk /dev/${d##*/} /mnt/data; done; echo "no data partition"'
services:
  - name: web
    image: busybox
    net: host
    capabilities: [CAP_NET_BIND_SERVICE]
    command: ["sh", "-c", "mkdir -p /tmp/www && echo disk-image-page > /tmp/www/index.html && exec httpd -f -p 80 -h /tmp/www"]
"""

# format -> file name after the prefix, and whether `berth run qemu` boots it through UEFI
FORMATS = {
    "raw-bios": ("-bios.img", False), "raw-efi": ("-efi.img", True), "aws": (".raw", False),
    "gcp": (".img.tar.gz", False), "vhd": (".vhd", False), "qcow2-bios": (".qcow2", False),
    "qcow2-efi": ("-efi.qcow2", True), "iso-efi": ("-efi.iso", True),
}
# The data partition check runs on the first boot only: the others show the same disk boots.
DEFAULT_BOOTS = ("raw-bios", "raw-efi", "qcow2-bios", "vhd", "gcp", "iso-efi")
MIB = 1 << 20


def build(args, out, name, formats, extra_images):
    os.makedirs(out, exist_ok=True)
    yml = os.path.join(out, name + ".yml")
    with open(yml, "w") as f:
        f.write(DISK_YML)
    cmd = [args.berth, "build", "-o", out, "--name", name, "--images", args.images, "--images", extra_images]
    for fmt in formats:
        cmd += ["--format", fmt]
    r = subprocess.run(cmd + [yml], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise BootFailure(f"{' '.join(cmd)} failed:\n{r.stdout}")
    return os.path.join(out, name)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def digest(path):
    return hashlib.sha256(read(path)).hexdigest()


def gcp_disk(path):
    """disk.raw from the gcp archive, which must be its only member, in GNU's old format."""
    with tarfile.open(path, "r:gz") as t:
        members = t.getmembers()
        assert [m.name for m in members] == ["disk.raw"], [m.name for m in members]
        data = t.extractfile(members[0]).read()
    header = read_gz_head(path)
    assert header[257:265] == b"ustar  \0", f"not an oldgnu tar header: {header[257:265]!r}"
    return data


def read_gz_head(path):
    with gzip.open(path, "rb") as f:
        return f.read(512)


def layout_checks(prefix):
    raw = read(prefix + "-bios.img")
    assert len(raw) % MIB == 0, f"the disk is {len(raw)} bytes, not whole MiB"
    assert read(prefix + "-efi.img") == raw and read(prefix + ".raw") == raw, "raw-efi or aws differ from raw-bios"
    assert gcp_disk(prefix + ".img.tar.gz") == raw, "gcp's disk.raw differs from raw-bios"
    assert read(prefix + ".qcow2") == read(prefix + "-efi.qcow2"), "qcow2-bios and qcow2-efi differ"
    vhd = read(prefix + ".vhd")
    assert len(vhd) == len(raw) + 512 and vhd[:len(raw)] == raw, "the vhd is not the raw disk and a footer"
    assert vhd[-512:-504] == b"conectix" and int.from_bytes(vhd[-512 + 60:-512 + 64], "big") == 2, \
        "the vhd footer is not that of a fixed disk"
    # QEMU reads the qcow2 and the vhd (whose footer berth rewrote: QEMU checks its
    # checksum) as the very disk the raw file is.
    for path, fmt in ((prefix + ".qcow2", "qcow2"), (prefix + ".vhd", "vpc")):
        r = subprocess.run(["qemu-img", "compare", "-f", "raw", "-F", fmt, prefix + "-bios.img", path],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert r.returncode == 0, f"qemu-img compare {path}: {r.stdout}"
    table = json.loads(subprocess.run(["sfdisk", "--json", prefix + "-bios.img"], stdout=subprocess.PIPE,
                                      check=True, text=True).stdout)["partitiontable"]
    parts = table["partitions"]
    assert table["label"] == "gpt" and len(parts) == 2, table
    assert parts[0]["type"] == "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" and parts[0]["start"] == 2048, parts
    assert parts[1]["name"] == "berth-data" and parts[1]["size"] == 8 * MIB // 512, parts
    return {fmt: os.path.getsize(prefix + suffix) for fmt, (suffix, _) in FORMATS.items()}


def boot(args, s, prefix, fmt, times, data_check):
    suffix, uefi = FORMATS[fmt]
    port = free_port()
    console = os.path.join(args.out, f"disk-{fmt}.console")
    # OVMF under TCG takes a while before the kernel starts.
    vm = Vm(args.berth, prefix + suffix, console, publish=[f"{port}:80"], timeout=args.boot_timeout + 60)
    try:
        s.check(f"{fmt} boots through {'UEFI' if uefi else 'BIOS'}",
                lambda: vm.expect(r"boot complete in \d+ ms: 2 onboot ok, 0 onboot failed, 1 services running",
                                  args.boot_timeout + 60))
        times[fmt] = time.monotonic() - vm.started
        if data_check:
            s.check(f"{fmt}: the blank data partition is found by its GPT name, formatted and mounted",
                    lambda: (vm.expect(r"data partition: vda2", 10),
                             vm.expect(r"mount-disk: /dev/vda2 is blank, formatting it as ext4", 10),
                             vm.expect(r"mount-disk: /dev/vda2 mounted on /mnt/data", 10)))

        def page():
            status, body = http_get(f"http://127.0.0.1:{port}/", 30)
            assert status == 200 and "disk-image-page" in body, body
        s.check(f"{fmt} serves its page", page)
    finally:
        vm.close()


def web_boot(args, s, out, times):
    """examples/web.yml (no module list) as a qcow2-efi disk through OVMF."""
    cmd = [args.berth, "build", "-o", out, "--name", "web", "--images", args.images, "--format", "qcow2-efi",
           os.path.join(ROOT, "examples", "web.yml")]
    started = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    times["web build"] = time.monotonic() - started
    if r.returncode != 0:
        raise BootFailure(f"{' '.join(cmd)} failed:\n{r.stdout}")
    port = free_port()
    vm = Vm(args.berth, os.path.join(out, "web-efi.qcow2"), os.path.join(args.out, "disk-web-qcow2-efi.console"),
            publish=[f"{port}:80"], timeout=args.boot_timeout + 60)
    try:
        s.check("examples/web.yml built as qcow2-efi boots through UEFI (modules: auto)",
                lambda: vm.expect(r"boot complete in \d+ ms: 1 onboot ok, 0 onboot failed, 1 services running",
                                  args.boot_timeout + 60))
        times["web qcow2-efi"] = time.monotonic() - vm.started

        def page():
            status, body = http_get(f"http://127.0.0.1:{port}/", 30)
            assert status == 200 and "Hello from berth" in body, body
        s.check("examples/web.yml's qcow2-efi disk serves its page", page)
    finally:
        vm.close()


def disk_boot(args, s):
    work = os.path.join(args.out, "disk-outputs")
    shutil.rmtree(work, ignore_errors=True)
    extra = os.path.join(work, "images")
    r = subprocess.run([os.path.join(ROOT, "examples", "images", "make-disk-image"), os.path.join(extra, "disk")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise BootFailure(f"make-disk-image failed:\n{r.stdout}")
    prefix = build(args, os.path.join(work, "a"), "disk", FORMATS, extra)
    sizes = {}
    s.check("raw-bios, raw-efi, aws and gcp's disk.raw are one GPT disk; qcow2 and vhd hold it",
            lambda: sizes.update(layout_checks(prefix)))
    print("# disk image sizes (bytes): " + ", ".join(f"{k} {v}" for k, v in sizes.items()), flush=True)

    def reproducible():
        time.sleep(1.1)  # another wall-clock second: nothing may depend on it
        again = build(args, os.path.join(work, "b"), "disk", FORMATS, extra)
        differ = [fmt for fmt, (suffix, _) in FORMATS.items() if digest(prefix + suffix) != digest(again + suffix)]
        assert not differ, f"two builds differ in: {differ}"
    s.check("two builds give identical bytes in every disk format", reproducible)

    def bad_name():
        r = subprocess.run([args.berth, "build", "-o", work, "--format", "raw-bio", "x.yml"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert r.returncode != 0 and "unknown format `raw-bio`" in r.stdout and "raw-bios" in r.stdout, r.stdout
    s.check("an unknown format name is refused with the known ones", bad_name)

    times = {}
    boots = FORMATS if os.environ.get("BERTH_DISK_BOOT_ALL") == "1" else DEFAULT_BOOTS
    started = time.monotonic()
    for i, fmt in enumerate(boots):
        boot(args, s, prefix, fmt, times, data_check=i == 0)
    web_boot(args, s, os.path.join(work, "web"), times)
    times["all boots"] = time.monotonic() - started - times["web build"]
    print("# disk boot times to boot complete, and all boots' checks (s): " + ", ".join(f"{k} {v:.1f}" for k, v in times.items()),
          flush=True)
    shutil.rmtree(work, ignore_errors=True)
