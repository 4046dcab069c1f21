"""Devices without a module list (kernel `modules: auto`): PID 1 loads the modules
of the devices present at boot (coldplug) and of the ones plugged in while it runs
(the kernel's uevents), and keeps /dev/disk/by-id, by-uuid and by-label current.
One boot: a virtio disk at boot, then a virtio-blk disk with a serial, a virtio-net
NIC and a virtio balloon added through the QEMU monitor, and the disk removed;
containers that declared disks by `match` get the node (and the device cgroup
rule) at launch or while they run, one that did not never sees it.
A second, short boot of the same file with an explicit module list gives the
boot-time figure to compare. A third, short one plugs a USB stick into an xHCI
controller: Debian's cloud kernel has no USB support (CONFIG_USB_SUPPORT unset), so
that image takes the generic kernel with the virtio, scsi, ahci and usb-storage classes;
the same boot has a SATA disk with a serial and a model on q35's AHCI controller."""
import os
import re
import shutil
import stat
import subprocess
import time

from harness import BootFailure, Vm

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BOOT_UUID = "5b0f3c1e-2a4d-4b6f-8e9a-0c1d2e3f4a5b"
HOT_UUID = "9e8d7c6b-5a49-4837-a625-140312f0e1d2"
USB_UUID = "3c2b1a09-8f7e-4d6c-9b5a-4a3928172635"
ATA_LINK = "ata-Berth_ATA_Disk_berth-ata-1"  # ide-hd model "Berth ATA Disk", serial "berth-ata-1"
USB_LINK = "usb-QEMU_QEMU_HARDDISK_berthusb1-0:0"  # the SCSI vendor and model, the USB serial, target:lun
LISTED = "  modules: [virtio_pci, virtio_net, virtio_blk, virtio_rng]\n"
BOOT_RE = r"boot complete in (\d+) ms"


def _ext4(path, uuid, label):
    with open(path, "wb") as f:
        f.truncate(16 << 20)
    env = dict(os.environ, PATH=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    r = subprocess.run(["mkfs.ext4", "-q", "-F", "-U", uuid, "-L", label, path], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise BootFailure(f"mkfs.ext4 failed: {r.stdout}")


def _build(args, yml, name, work):
    cmd = [args.berth, "build", "-o", work, "--name", name, "--images", args.images, "--arch", args.arch]
    if args.init:
        cmd += ["--init", args.init]
    r = subprocess.run(cmd + [yml], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise BootFailure(f"{' '.join(cmd)} failed:\n{r.stdout}")
    return os.path.join(work, name), r.stdout


USB_YML = """\
# No USB in the cloud kernel: the generic one, with only the classes this machine needs.
kernel:
  package: linux-image-amd64
  cmdline: "console=ttyS0 panic=-1 quiet"
  modules:
    classes: [virtio, scsi, ahci, usb-storage]
services:
  # The SATA disk's by-id name comes from its IDENTIFY data (sysfs vpd_pg89), the
  # stick's from its SCSI names and USB serial; then its by-label link and node.
  - name: usbwatch
    image: busybox
    binds: ["/dev:/hostdev:ro"]
    command:
      - sh
      - -c
      - >-
        w() { n=0; while [ $n -lt 1200 ] && ! eval "$1"; do sleep 0.1; n=$((n+1)); done; };
        w '[ -e /hostdev/disk/by-id/{ata} ]';
        echo "usbwatch: ata by-id $(readlink /hostdev/disk/by-id/{ata} || echo missing, $(ls /hostdev/disk/by-id) $(ls /sys/class/block/sda/device | grep vpd))";
        w '[ -e /hostdev/disk/by-label/usbdata ]';
        l=$(readlink /hostdev/disk/by-label/usbdata); d=${l##*/};
        echo "usbwatch: by-label -> $l $d=$(stat -c %a:%g /hostdev/$d) via $(readlink -f /sys/class/block/$d | grep -o '/usb[0-9]*/' | head -1)";
        w '[ -e /hostdev/disk/by-id/{usb} ]';
        echo "usbwatch: usb by-id $(readlink /hostdev/disk/by-id/{usb} || echo missing, $(ls /hostdev/disk/by-id))";
        w '[ ! -e /hostdev/disk/by-label/usbdata ]';
        echo "usbwatch: by-label $(ls /hostdev/disk/by-label/usbdata 2>/dev/null || echo gone), /dev/$d $([ -e /hostdev/$d ] && echo present || echo gone), usb by-id $([ -e /hostdev/disk/by-id/{usb} ] && echo present || echo gone)";
        exec sleep 100000
"""


def usb_boot(args, s, work, wrapper):
    """A USB stick plugged into the xHCI controller while the machine runs, then removed."""
    yml = os.path.join(work, "usb.yml")
    with open(yml, "w") as f:
        f.write(USB_YML.replace("{ata}", ATA_LINK).replace("{usb}", USB_LINK))
    prefix, _ = _build(args, yml, "usb", work)
    stick = os.path.join(work, "usb-stick.img")
    _ext4(stick, USB_UUID, "usbdata")
    # A SATA disk on q35's own AHCI controller (bus ide.2), named by serial and model.
    sata = os.path.join(work, "sata.img")
    with open(sata, "wb") as f:
        f.truncate(1 << 20)
    sata_wrapper = os.path.join(work, "qemu-with-sata")
    with open(sata_wrapper, "w") as f:
        f.write(f"#!/bin/sh\nexec {wrapper} \"$@\" -drive if=none,id=atad,file={sata},format=raw "
                "-device 'ide-hd,bus=ide.2,drive=atad,serial=berth-ata-1,model=Berth ATA Disk'\n")
    os.chmod(sata_wrapper, os.stat(sata_wrapper).st_mode | stat.S_IXUSR)
    vm = Vm(args.berth, prefix, os.path.join(args.out, "devices-usb.console"), timeout=args.boot_timeout,
            extra=["--accel", "tcg", "--qemu", sata_wrapper])
    try:
        s.check("USB: the generic kernel's image boots; coldplug loads the xHCI driver",
                lambda: (vm.expect(r"loaded module xhci_pci for pci:", args.boot_timeout),
                         vm.expect(BOOT_RE, args.boot_timeout)))
        s.check("a SATA disk gets by-id/ata-MODEL_SERIAL from the IDENTIFY data the kernel keeps (vpd_pg89)",
                lambda: vm.expect(r"usbwatch: ata by-id \.\./\.\./sd[a-z]\b", 60))
        started = time.monotonic()
        vm.monitor(f"drive_add 0 if=none,id=usbd,file={stick},format=raw")
        vm.monitor("device_add usb-storage,bus=xhci.0,drive=usbd,id=usbdisk,serial=berthusb1")
        s.check("a hot-plugged USB stick gets usb_storage and sd_mod loaded from its uevents",
                lambda: (vm.expect(r"loaded module usb_storage for usb:", 60),
                         vm.expect(r"loaded module sd_mod for scsi:", 60)))
        s.check("... its node (mode 0660 group disk, on the USB bus) and by-label link appear",
                lambda: vm.expect(r"usbwatch: by-label -> \.\./\.\./(sd[a-z]) \1=660:6 via /usb\d/", 60))
        s.check("... and by-id/usb-VENDOR_MODEL_SERIAL-0:0 as udev's usb_id names it",
                lambda: vm.expect(r"usbwatch: usb by-id \.\./\.\./sd[a-z]\b", 60))
        vm.monitor("device_del usbdisk")
        s.check("device_del of the USB stick removes its links and node",
                lambda: vm.expect(r"usbwatch: by-label gone, /dev/sd[a-z] gone, usb by-id gone", 60))
        print(f"# figure: USB stick plugged, seen and removed in {time.monotonic() - started:.1f} s; "
              f"boot to removal {time.monotonic() - vm.started:.1f} s", flush=True)
    finally:
        vm.close()


FIRMWARE_YML = """\
kernel:
  package: linux-image-cloud-amd64
  cmdline: "console=ttyS0"
init:
  - firmware
"""


def firmware_build(args, s, work):
    """A firmware package made into an image (make-firmware-image, from a .deb made
    here: Debian's firmware-* packages are in non-free-firmware) lands in the
    initrd's /lib/firmware, where the kernel looks. No boot: the kernel loads it."""
    pkg, images = os.path.join(work, "fw-pkg"), os.path.join(work, "fw-images")
    shutil.rmtree(pkg, ignore_errors=True)
    os.makedirs(os.path.join(pkg, "DEBIAN"))
    os.makedirs(os.path.join(pkg, "lib", "firmware", "berth-test"))
    os.makedirs(os.path.join(pkg, "usr", "lib", "firmware"))
    with open(os.path.join(pkg, "DEBIAN", "control"), "w") as f:
        f.write("Package: firmware-berth-test\nVersion: 1\nArchitecture: all\n"
                "Maintainer: berth tests <tests@invalid>\nDescription: one firmware file\n")
    with open(os.path.join(pkg, "lib", "firmware", "berth-test", "dev.fw"), "wb") as f:
        f.write(b"\x7ffirmware-blob")
    with open(os.path.join(pkg, "usr", "lib", "firmware", "moved.fw"), "wb") as f:
        f.write(b"usr-lib-firmware")  # Debian 13's packages install here
    deb = os.path.join(work, "firmware-berth-test.deb")
    for cmd in (["dpkg-deb", "--root-owner-group", "--build", pkg, deb],
                [os.path.join(ROOT, "examples", "images", "make-firmware-image"), os.path.join(images, "firmware"), deb]):
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise BootFailure(f"{' '.join(cmd)} failed:\n{r.stdout}")
    yml = os.path.join(work, "firmware.yml")
    with open(yml, "w") as f:
        f.write(FIRMWARE_YML)
    r = subprocess.run([args.berth, "build", "-o", work, "--name", "firmware", "--images", args.images,
                        "--images", images, yml], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise BootFailure(f"berth build of {yml} failed:\n{r.stdout}")

    def lands():
        from arch_tests import cpio_member
        initrd = os.path.join(work, "firmware-initrd.img")
        assert cpio_member(initrd, "lib/firmware/berth-test/dev.fw") == b"\x7ffirmware-blob"
        assert cpio_member(initrd, "lib/firmware/moved.fw") == b"usr-lib-firmware"
    s.check("a firmware .deb made into an image with make-firmware-image lands in the initrd's /lib/firmware",
            lands)


def devices_boot(args, s):
    if args.arch != "amd64":
        s.skip("device coldplug and hotplug", "the hot-plug slots are q35's PCIe root ports (amd64)")
        return
    work = os.path.join(args.out, "devices")
    os.makedirs(work, exist_ok=True)
    firmware_build(args, s, work)
    src = os.path.join(HERE, "images", "devices.yml")
    text = open(src).read()
    listed_yml = os.path.join(work, "devices-listed.yml")
    with open(listed_yml, "w") as f:
        f.write(text.replace("  # no modules: list", LISTED + "  #", 1))
    auto, auto_out = _build(args, src, "devices", work)
    listed, _ = _build(args, listed_yml, "devices-listed", work)
    shipped = re.search(r"modules shipped for the devices found at boot \(modules: auto\): (\d+)", auto_out)
    s.check("`modules: auto` ships the classes' modules and their index",
            lambda: (shipped or (_ for _ in ()).throw(AssertionError(auto_out)),
                     print(f"# figure: modules shipped by `auto`: {shipped.group(1)}, initrd "
                           f"{os.path.getsize(auto + '-initrd.img') >> 10} KiB vs "
                           f"{os.path.getsize(listed + '-initrd.img') >> 10} KiB with the list", flush=True)))
    boot_disk, hot_disk = os.path.join(work, "boot.img"), os.path.join(work, "hot.img")
    _ext4(boot_disk, BOOT_UUID, "bootdata")
    _ext4(hot_disk, HOT_UUID, "hotdata")
    # q35 hot-plugs into PCIe root ports only: a QEMU wrapper adds three, and an xHCI
    # controller for usb_boot's USB stick.
    wrapper = os.path.join(work, "qemu-with-ports")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec qemu-system-x86_64 \"$@\" -device pcie-root-port,id=hp1,chassis=11 "
                "-device pcie-root-port,id=hp2,chassis=12 -device pcie-root-port,id=hp3,chassis=13 "
                "-device qemu-xhci,id=xhci\n")
    os.chmod(wrapper, os.stat(wrapper).st_mode | stat.S_IXUSR)
    disk = ["--disk", boot_disk, "--accel", "tcg"]

    vm = Vm(args.berth, auto, os.path.join(args.out, "devices.console"), timeout=args.boot_timeout,
            extra=disk + ["--qemu", wrapper])
    auto_ms = None
    try:
        def coldplug():
            m = vm.expect(r"coldplug: (\d+) devices, (\d+) modules loaded \((\d+) failed\) of (\d+) known.*?(\d+) ms",
                          args.boot_timeout)
            assert int(m.group(3)) == 0, m.group(0)
            print(f"# figure: {m.group(0)}", flush=True)
            for mod in ("virtio_pci", "virtio_net", "virtio_blk"):
                vm.expect(rf"loaded module {mod} for ", 5)
        s.check("coldplug loads virtio-pci, -net and -blk for the devices present", coldplug)

        def booted():
            nonlocal auto_ms
            auto_ms = int(vm.expect(BOOT_RE, args.boot_timeout).group(1))
        s.check("the boot completes", booted)
        def modules_loaded():
            m = vm.expect(r"devices: modules (.*)\n", 30)  # the whole line, not a part received so far
            print(f"# figure: modules loaded at boot: {m.group(1).strip()}", flush=True)
        s.check("the service sees the modules loaded", modules_loaded)
        s.check("the service sees eth0 and the boot disk's by-uuid and by-label links",
                lambda: (vm.expect(r"devices: net .*eth0", 30),
                         vm.expect(rf"devices: boot links .*by-label: bootdata .*by-uuid: {BOOT_UUID}", 30)))
        def modes():
            # Debian's udev defaults: tty 5, dialout 20, kmem 15 (/dev/mem), disk 6 (no /etc/group in the image).
            m = vm.expect(r"devices: modes (.*)\n", 30)  # the whole line, not a part received so far
            assert "null=666:0 ptmx=666:5 tty1=620:5 ttyS1=660:20 mem=640:15 vda=660:6" in m.group(1), m.group(0)
            assert re.search(r"kvm=(absent|666:0)", m.group(1)), m.group(0)
            n = vm.expect(r"device nodes: \d+ modes and groups set \(0 failed\), \d+ ms", 5)
            print(f"# figure: {n.group(0)}", flush=True)
        s.check("PID 1 gives device nodes Debian's udev modes and groups (/dev/null, ptmx, tty1, ttyS1, mem, vda)",
                modes)
        def early():
            vm.expect(r"early: at start vda read 512 bytes", 30)
            scan = vm.expect(r"devices for containers: \d+ device nodes known, \d+ ms", 5)
            print(f"# figure: {scan.group(0)}", flush=True)
        s.check("a container declaring virtio disks by modalias has the boot disk at launch and reads it", early)
        s.check("a container declaring a by-id link gets no other disk: the device cgroup refuses the boot disk",
                lambda: vm.expect(r"claim: at start 0 vd nodes, boot disk \d+:\d+ denied", 30))
        vm.monitor(f"drive_add 0 if=none,id=hotd,file={hot_disk},format=raw")
        vm.monitor("device_add virtio-blk-pci,drive=hotd,id=hotdisk,serial=hotdisk1,bus=hp1")
        s.check("a hot-added virtio-blk disk gets its by-id link (virtio-SERIAL) and mode 0660 group disk",
                lambda: vm.expect(r"devices: hot by-id -> \.\./\.\./vdb vdb=660:6", 60))
        s.check("... and by-label / by-uuid from its ext4 superblock",
                lambda: vm.expect(rf"devices: hot by-label -> \.\./\.\./vdb by-uuid .*{HOT_UUID}", 30))
        s.check("the container that declared the hot disk sees its node and its link appear and reads it",
                lambda: vm.expect(r"claim: vdb appeared, mode 600, read 512 bytes, by-id virtio-hotdisk1", 60))
        s.check("... so does the one that declared every virtio disk by modalias",
                lambda: vm.expect(r"early: vdb appeared", 60))
        s.check("a container that declared nothing does not get the node",
                lambda: vm.expect(r"devices: watch's own /dev/vdb absent", 60))
        vm.monitor("netdev_add user,id=hotnet")
        vm.monitor("device_add virtio-net-pci,netdev=hotnet,id=hotnic,bus=hp2")
        s.check("a hot-added virtio-net NIC appears as eth1", lambda: vm.expect(r"devices: hot nic .*eth1", 60))
        vm.monitor("device_add virtio-balloon-pci,id=hotballoon,bus=hp3")
        s.check("a device whose module is not loaded yet gets it from its uevent (virtio_balloon)",
                lambda: vm.expect(r"loaded module virtio_balloon for virtio:", 60))
        vm.monitor("device_del hotdisk")
        s.check("device_del removes the disk's links", lambda: vm.expect(r"devices: hot by-id gone", 60))
        s.check("... and the node and its link from the container that had it",
                lambda: vm.expect(r"claim: vdb gone, by-id \[\]", 60))
    finally:
        vm.close()

    # The same image with the explicit list, same disk and devices at boot.
    vm = Vm(args.berth, listed, os.path.join(args.out, "devices-listed.console"), timeout=args.boot_timeout,
            extra=disk)
    try:
        def compare():
            listed_ms = int(vm.expect(BOOT_RE, args.boot_timeout).group(1))
            print(f"# figure: boot complete in {auto_ms} ms with coldplug (modules: auto), "
                  f"{listed_ms} ms with the explicit module list", flush=True)
        s.check("the same file with an explicit module list boots (boot-time figure)", compare)
    finally:
        vm.close()

    usb_boot(args, s, work, wrapper)
