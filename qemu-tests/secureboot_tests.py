"""Secure Boot: a unified kernel image (the uki output) of a verified root,
signed with the snakeoil key of Debian's ovmf package, boots under OVMF's Secure
Boot build (whose variable store has that key in db) through systemd-boot (from
the raw-efi disk of a signed uki, signed too), and its root hash reaches PID 1;
the stub ignores an entry's command line under Secure Boot (and not without it:
the control); an unsigned UKI and the signed one with one byte of its root hash
changed are refused by the firmware. Also, without booting: the section layout,
the raw-efi disk's ESP, sbverify, byte-for-byte reproducibility and the signing
errors. Four builds, three boots (one stopped at the kernel's command line, one
at the firmware's two refusals)."""
import os
import re
import shutil
import struct
import subprocess
import time

from harness import BootFailure, Vm

SNAKEOIL_KEY = "/usr/share/ovmf/PkKek-1-snakeoil.key"  # encrypted, passphrase "snakeoil"
SNAKEOIL_CERT = "/usr/share/ovmf/PkKek-1-snakeoil.pem"

UKI_YML = """\
kernel:
  package: linux-image-cloud-amd64
  cmdline: "console=ttyS0 panic=-1"
berth:
  verity: true
services:
  - name: shows
    image: busybox
    command: ["sh", "-c", "echo \\"uki-cmdline: $(cat /proc/cmdline)\\"; exec sleep 100000"]
"""

# What a boot loader (or anyone who can write the ESP) would pass: another root hash.
INJECTED = "berth.injected=1 berth.verity.roothash=" + "0" * 64


def pe_sections(data):
    """{name: (virtual address, virtual size, file offset, raw size)} and the
    stub's section alignment, from the PE headers."""
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    assert data[pe:pe + 4] == b"PE\0\0", "no PE signature"
    nsections, = struct.unpack_from("<H", data, pe + 6)
    opt_size, = struct.unpack_from("<H", data, pe + 20)
    opt = pe + 24
    align, = struct.unpack_from("<I", data, opt + 32)
    out = {}
    for i in range(nsections):
        at = opt + opt_size + 40 * i
        name = data[at:at + 8].rstrip(b"\0").decode()
        vsize, vaddr, rsize, roff = struct.unpack_from("<IIII", data, at + 8)
        out[name] = (vaddr, vsize, roff, rsize)
    return out, align


def section(data, name):
    vaddr, vsize, roff, rsize = pe_sections(data)[0][name]
    return data[roff:roff + min(vsize, rsize)]


def build(args, yml, outdir, sign_key=None, expect_ok=True):
    os.makedirs(outdir, exist_ok=True)
    cmd = [args.berth, "build", "-o", outdir, "--name", "sb", "--images", args.images,
           "--format", "kernel+squashfs", "--format", "uki"]
    if sign_key:
        cmd += ["--sign-key", sign_key, "--sign-cert", SNAKEOIL_CERT]
    if args.init:
        cmd += ["--init", args.init]
    cmd.append(yml)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if expect_ok and r.returncode != 0:
        raise BootFailure(f"{' '.join(cmd)} failed:\n{r.stdout}")
    return os.path.join(outdir, "sb"), r


MTOOLS_ENV = dict(os.environ, MTOOLS_SKIP_CHECK="1")


def make_esp(path, files):
    """A FAT file system at `path` holding {name in the ESP: host file}."""
    size_kib = sum(os.path.getsize(f) for f in files.values()) // 1024 * 21 // 20 + 4096
    if os.path.exists(path):
        os.unlink(path)
    subprocess.run(["mkfs.vfat", "-C", path, str(size_kib)], check=True, capture_output=True)
    dirs = sorted({"::/" + "/".join(n.split("/")[:i]) for n in files for i in range(1, n.count("/") + 1)})
    subprocess.run(["mmd", "-i", path] + dirs, check=True, capture_output=True, env=MTOOLS_ENV)
    for name, src in files.items():
        subprocess.run(["mcopy", "-i", path, src, "::/" + name], check=True, capture_output=True, env=MTOOLS_ENV)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def secureboot_boot(args, s):
    for f in (SNAKEOIL_KEY, SNAKEOIL_CERT, "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
              "/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd"):
        if not os.path.exists(f):
            s.skip("secure boot", f"{f} is missing (apt-get install ovmf)")
            return
    work = os.path.join(args.out, "secureboot")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    yml = os.path.join(work, "sb.yml")
    with open(yml, "w") as f:
        f.write(UKI_YML)
    # sbsign cannot ask for a passphrase: the test key, decrypted.
    key = os.path.join(work, "snakeoil.key")
    subprocess.run(["openssl", "pkey", "-in", SNAKEOIL_KEY, "-passin", "pass:snakeoil", "-out", key], check=True)

    def refuses(what, sign_key, message):
        _, r = build(args, yml, os.path.join(work, "refused"), sign_key=sign_key, expect_ok=False)
        assert r.returncode == 1 and re.search(message, r.stdout), f"{what}: exit {r.returncode}:\n{r.stdout}"
        assert not os.path.exists(os.path.join(work, "refused", "sb.efi")), "an image was written"
    s.check("a missing signing key fails the build, naming the file",
            lambda: refuses("missing", os.path.join(work, "nokey.pem"), r"--sign-key: cannot read `.*nokey\.pem`"))
    s.check("an encrypted signing key fails the build with what to do",
            lambda: refuses("encrypted", SNAKEOIL_KEY, r"--sign-key: .* is encrypted.*openssl pkey"))


    def disks_refused():
        cmd = [args.berth, "build", "-o", os.path.join(work, "refused"), "--images", args.images, "--format",
               "kernel+squashfs", "--format", "uki", "--format", "raw-efi", yml]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert r.returncode == 1 and "the disk image outputs do not hold" in r.stdout, r.stdout
    s.check("a uki of a squashfs root with disk outputs (which hold no squashfs) is refused", disks_refused)

    def arm64_refused():
        cmd = [args.berth, "build", "-o", os.path.join(work, "refused"), "--images", args.images, "--arch", "arm64",
               "--init", args.berth,  # any file: the build stops before it is read
               "--format", "uki", yml]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert r.returncode == 1 and "output format `uki` is for amd64 only" in r.stdout, r.stdout
    s.check("a uki for arm64 is refused (the stub is an x86 program)", arm64_refused)

    signed, _ = build(args, yml, os.path.join(work, "signed"), sign_key=key)
    plain, _ = build(args, yml, os.path.join(work, "unsigned"))
    again, _ = build(args, yml, os.path.join(work, "again"))
    uki = read(signed + ".efi")
    with open(signed + "-cmdline") as f:
        cmdline = f.read().strip()
    root_hash = re.search(r"berth\.verity\.roothash=([0-9a-f]{64})", cmdline).group(1)

    def carries_command_line():
        got = section(uki, ".cmdline").decode()
        assert got == cmdline, f".cmdline is {got!r}, NAME-cmdline {cmdline!r}"
    s.check("the UKI's .cmdline is the verified root's whole command line (root hash included)", carries_command_line)

    def layout():
        sections, align = pe_sections(uki)
        stub_sections, stub_align = pe_sections(read("/usr/lib/systemd/boot/efi/linuxx64.efi.stub"))
        stub_end = max(v + max(vs, rs) for v, vs, _, rs in stub_sections.values())
        added = [".osrel", ".cmdline", ".uname", ".initrd", ".linux"]
        addrs = [sections[n][0] for n in added]
        assert addrs == sorted(addrs), f"sections out of order: {addrs}"
        assert addrs[0] >= stub_end, f".osrel at {addrs[0]:#x} inside the stub (ends {stub_end:#x})"
        page = max(stub_align, 4096)
        for n in added:
            assert sections[n][0] % page == 0, f"{n} at {sections[n][0]:#x} is not {page:#x}-aligned"
        for a, b in zip(added, added[1:]):
            assert sections[a][0] + sections[a][1] <= sections[b][0], f"{a} overlaps {b}"
        assert section(uki, ".linux") == read(signed + "-kernel"), ".linux is not the kernel"
        assert section(uki, ".initrd") == read(signed + "-squashfs-initrd.img"), ".initrd is not the boot initrd"
        assert b"IMAGE_ID=\"sb\"" in section(uki, ".osrel")
    s.check("sections after the stub's end, page-aligned, in order, not overlapping; .linux/.initrd are the build's",
            layout)

    def verifies():
        ok = subprocess.run(["sbverify", "--cert", SNAKEOIL_CERT, signed + ".efi"], capture_output=True, text=True)
        assert ok.returncode == 0, ok.stderr
        bad = subprocess.run(["sbverify", "--cert", SNAKEOIL_CERT, plain + ".efi"], capture_output=True, text=True)
        assert bad.returncode != 0, "an unsigned image verified"
    s.check("sbverify accepts the signed UKI and rejects the unsigned one", verifies)

    def reproducible():
        for suffix in (".efi", "-squashfs.img", "-squashfs-initrd.img", "-cmdline"):
            assert read(plain + suffix) == read(again + suffix), f"two builds differ in {suffix}"
        # Signing adds only the signature (and sbsign's checksum and 8-byte padding):
        # the signed content is the same bytes.
        stripped = os.path.join(work, "stripped.efi")
        shutil.copyfile(signed + ".efi", stripped)
        subprocess.run(["sbattach", "--remove", stripped], check=True, capture_output=True)
        a, b = bytearray(read(stripped)), bytearray(read(plain + ".efi"))
        pe = struct.unpack_from("<I", a, 0x3C)[0]
        for image in (a, b):
            image[pe + 24 + 64:pe + 24 + 68] = b"\0\0\0\0"  # the PE checksum
        assert a[:len(b)] == b and not a[len(b):].strip(b"\0"), "the signed image's content differs from the unsigned"
    s.check("two builds are identical byte for byte; the signed UKI is the same bytes plus its signature", reproducible)

    # The raw-efi disk of a build with a signed uki: systemd-boot, signed too,
    # boots the UKI as its only entry (type #2).
    disk_dir = os.path.join(work, "disk")
    os.makedirs(disk_dir)
    disk_yml = os.path.join(disk_dir, "sb.yml")
    with open(disk_yml, "w") as f:
        f.write(UKI_YML.replace("berth:\n  verity: true\n", ""))
    cmd = [args.berth, "build", "-o", disk_dir, "--name", "sb", "--images", args.images, "--format", "uki",
           "--format", "raw-efi", "--sign-key", key, "--sign-cert", SNAKEOIL_CERT] + \
        (["--init", args.init] if args.init else []) + [disk_yml]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise BootFailure(f"{' '.join(cmd)} failed:\n{r.stdout}")
    disk_esp = os.path.join(disk_dir, "sb-efi.img") + "@@1M"
    sd_boot = os.path.join(disk_dir, "sd-boot.efi")

    def esp_file(name):
        return subprocess.run(["mtype", "-i", disk_esp, name], check=True, capture_output=True, env=MTOOLS_ENV).stdout

    def disk_holds_uki():
        assert esp_file("::/loader/loader.conf") == b"timeout 0\ndefault berth.efi\neditor no\n"
        assert esp_file("::/EFI/Linux/berth.efi") == read(os.path.join(disk_dir, "sb.efi"))
        listing = subprocess.run(["mdir", "-i", disk_esp, "-b", "::/loader/entries"], capture_output=True,
                                 env=MTOOLS_ENV, text=True).stdout.split()
        assert listing == [], f"entries besides the UKI: {listing}"
        with open(sd_boot, "wb") as f:
            f.write(esp_file("::/EFI/BOOT/BOOTX64.EFI"))
        v = subprocess.run(["sbverify", "--cert", SNAKEOIL_CERT, sd_boot], capture_output=True, text=True)
        assert v.returncode == 0, "systemd-boot is not signed: " + v.stderr
    s.check("raw-efi with a uki: its ESP holds the UKI as the only entry and a signed systemd-boot", disk_holds_uki)

    # The whole chain under Secure Boot: firmware -> signed systemd-boot -> signed
    # UKI -> kernel -> PID 1's verity root, with the root hash from the signed
    # image. The ESP is not signed: whoever can write it adds an entry that starts
    # the UKI with another command line (another root hash), made the default. The
    # stub must ignore it; the control without Secure Boot shows that systemd-boot
    # does pass it, so that check can fail.
    chain = os.path.join(work, "chain-efi.img")
    injected = os.path.join(work, "injected.conf")
    with open(injected, "w") as f:
        f.write("title injected\nefi /EFI/Linux/berth.efi\noptions console=ttyS0 " + INJECTED + "\n")
    loader = os.path.join(work, "loader.conf")
    with open(loader, "w") as f:
        f.write("timeout 0\ndefault injected.conf\n")
    if os.path.exists(sd_boot):
        make_esp(chain, {"EFI/BOOT/BOOTX64.EFI": sd_boot, "EFI/Linux/berth.efi": signed + ".efi",
                         "loader/loader.conf": loader, "loader/entries/injected.conf": injected})
    vm = Vm(args.berth, chain, os.path.join(work, "signed.console"), timeout=args.boot_timeout,
            extra=["--secure-boot", "--disk", signed + "-squashfs.img"])
    try:
        s.check("the signed UKI boots under Secure Boot through signed systemd-boot (the kernel sees it on)",
                lambda: vm.expect(r"secureboot: Secure boot enabled", args.boot_timeout))
        s.check("PID 1 maps the root with the root hash carried in the signed image, not the injected one",
                lambda: vm.expect(r"verified root: /dev/dm-\d+ maps /dev/vd[a-z] \(dm-verity, sha256, root hash "
                                  + root_hash + r"\)", 60))

        def whole_line():
            got = vm.expect(r"uki-cmdline: (.*)\n", 60).group(1).strip()
            assert got == cmdline, f"/proc/cmdline is {got!r}"
        s.check("the kernel's command line is the image's: the stub ignored the entry's", whole_line)
        print(f"# secure boot: signed UKI to its service in {time.monotonic() - vm.started:.1f} s (TCG)", flush=True)
    finally:
        vm.close()

    def used_without():
        v = Vm(args.berth, chain, os.path.join(work, "injected-nosb.console"), timeout=args.boot_timeout)
        try:
            line = v.expect(r"Kernel command line: (.*)\n", args.boot_timeout).group(1).strip()
            assert INJECTED in line, f"the kernel got {line!r}"
            print(f"# secure boot: control to the kernel's command line in {time.monotonic() - v.started:.1f} s",
                  flush=True)
        finally:
            v.close()
    s.check("without Secure Boot the same UKI takes the entry's command line (the control)", used_without)

    # Both bad images in one boot (firmware start-up is most of its time): the
    # unsigned UKI on the ESP disk `berth run qemu` makes, the tampered one on a
    # second ESP. The firmware tries each disk's loader in turn.
    tampered = os.path.join(work, "tampered.efi")
    data = bytearray(uki)
    at = data.find(root_hash.encode())
    data[at] = ord("0") if data[at] != ord("0") else ord("1")  # one byte of the root hash
    with open(tampered, "wb") as f:
        f.write(data)
    tampered_esp = os.path.join(work, "tampered-esp.img")
    make_esp(tampered_esp, {"EFI/BOOT/BOOTX64.EFI": tampered})

    def tampered_fails_sbverify():
        r = subprocess.run(["sbverify", "--cert", SNAKEOIL_CERT, tampered], capture_output=True, text=True)
        assert r.returncode != 0, "the tampered image verified"
    s.check("sbverify rejects the signed UKI with one byte of its root hash changed", tampered_fails_sbverify)

    vm = Vm(args.berth, plain + ".efi", os.path.join(work, "refused.console"), timeout=args.boot_timeout,
            extra=["--secure-boot", "--disk", tampered_esp])
    try:
        denied = r"BdsDxe: failed to load (Boot\d+) .*: Access Denied"

        def both():
            # the firmware's next boot option after the first refusal
            deadline = time.monotonic() + 60
            while len(set(re.findall(denied, vm.console))) < 2:
                assert time.monotonic() < deadline, "only one image was refused:\n" + vm.tail()
                time.sleep(0.2)
        s.check("an unsigned UKI is refused by the firmware (Access Denied)",
                lambda: vm.expect(denied, args.boot_timeout))
        s.check("the signed UKI with one byte of its root hash changed is refused too", both)

        def nothing_ran():
            assert "EFI stub" not in vm.console and "Linux version" not in vm.console, "an image ran"
        s.check("neither image runs: no stub, no kernel", nothing_ran)
        print(f"# secure boot: both refusals in {time.monotonic() - vm.started:.1f} s (TCG)", flush=True)
    finally:
        vm.close()


AB_YML = """\
kernel:
  package: linux-image-cloud-amd64
  cmdline: "console=ttyS0 panic=-1"
update:
  slotSize: 48M
  version: "1"
services:
  - name: shows
    image: busybox
    command: ["sh", "-c", "echo \\"ab-cmdline: $(cat /proc/cmdline)\\"; exec sleep 100000"]
"""


def secureboot_ab_boot(args, s):
    """The raw-efi-ab disk signed with the snakeoil key: its ESP's systemd-boot and
    slot a's UKI (EFI/Linux/berth-1-a.efi, a type #2 entry) verify, the disk boots
    slot a under Secure Boot with the root hash of the signed image, and the same
    disk with one byte of that UKI's root hash changed in the ESP does not boot.
    One build, two boots."""
    for f in (SNAKEOIL_KEY, SNAKEOIL_CERT, "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
              "/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd"):
        if not os.path.exists(f):
            s.skip("secure boot A/B", f"{f} is missing (apt-get install ovmf)")
            return
    work = os.path.join(args.out, "secureboot-ab")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    yml = os.path.join(work, "sbab.yml")
    with open(yml, "w") as f:
        f.write(AB_YML)
    key = os.path.join(work, "snakeoil.key")
    subprocess.run(["openssl", "pkey", "-in", SNAKEOIL_KEY, "-passin", "pass:snakeoil", "-out", key], check=True)
    update_key = os.path.join(work, "update.key")
    with open(update_key, "w") as f:
        f.write("07" * 32 + "\n")
    started = time.monotonic()
    cmd = [args.berth, "build", "-o", work, "--name", "sbab", "--images", args.images, "--format", "raw-efi-ab",
           "--update-key", update_key, "--sign-key", key, "--sign-cert", SNAKEOIL_CERT] + \
        (["--init", args.init] if args.init else []) + [yml]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise BootFailure(f"{' '.join(cmd)} failed:\n{r.stdout}")
    print(f"# secure boot A/B: signed build in {time.monotonic() - started:.1f} s", flush=True)
    disk = os.path.join(work, "sbab-ab-efi.img")
    esp = disk + "@@1M"

    def esp_file(name):
        return subprocess.run(["mtype", "-i", esp, name], check=True, capture_output=True, env=MTOOLS_ENV).stdout

    entry = os.path.join(work, "berth-1-a.efi")
    with open(entry, "wb") as f:
        f.write(esp_file("::/EFI/Linux/berth-1-a.efi"))
    uki = read(entry)
    cmdline = section(uki, ".cmdline").decode()
    root_hash = re.search(r"berth\.verity\.roothash=([0-9a-f]{64})", cmdline).group(1)

    def signed_chain():
        listing = subprocess.run(["mdir", "-i", esp, "-b", "::/EFI/Linux"], capture_output=True, env=MTOOLS_ENV,
                                 text=True).stdout.split()
        assert listing == ["::/EFI/Linux/berth-1-a.efi"], f"entries: {listing}"
        assert cmdline.endswith(" berth.slot=a"), f".cmdline is {cmdline!r}"
        sd_boot = os.path.join(work, "sd-boot.efi")
        with open(sd_boot, "wb") as f:
            f.write(esp_file("::/EFI/BOOT/BOOTX64.EFI"))
        for f in (sd_boot, entry):
            v = subprocess.run(["sbverify", "--cert", SNAKEOIL_CERT, f], capture_output=True, text=True)
            assert v.returncode == 0, f"{f} is not signed: {v.stderr}"
    s.check("signed raw-efi-ab: slot a's UKI is the only entry; it and systemd-boot verify", signed_chain)

    vm = Vm(args.berth, disk, os.path.join(work, "signed.console"), timeout=args.boot_timeout,
            extra=["--secure-boot"])
    try:
        s.check("the signed A/B disk boots under Secure Boot (the kernel sees it on)",
                lambda: vm.expect(r"secureboot: Secure boot enabled", args.boot_timeout))
        s.check("PID 1 boots slot a and maps its root with the root hash carried in the signed UKI",
                lambda: vm.expect(r"A/B boot: slot a[\s\S]*verified root: /dev/dm-\d+ maps /dev/\S+ \(dm-verity, "
                                  r"sha256, root hash " + root_hash + r"\)", 60))

        def whole_line():
            got = vm.expect(r"ab-cmdline: (.*)\n", 60).group(1).strip()
            assert got == cmdline, f"/proc/cmdline is {got!r}"
        s.check("the kernel's command line is the signed UKI's", whole_line)
        print(f"# secure boot A/B: signed slot a to its service in {time.monotonic() - vm.started:.1f} s", flush=True)
    finally:
        vm.close()

    # The same disk, one byte of the root hash in slot a's UKI changed on the ESP:
    # what someone who can write the ESP (not the key) would do.
    tampered_disk = os.path.join(work, "tampered-ab-efi.img")
    shutil.copyfile(disk, tampered_disk)
    data = bytearray(uki)
    at = data.find(root_hash.encode())
    data[at] = ord("0") if data[at] != ord("0") else ord("1")
    tampered = os.path.join(work, "tampered.efi")
    with open(tampered, "wb") as f:
        f.write(data)
    subprocess.run(["mcopy", "-o", "-i", tampered_disk + "@@1M", tampered, "::/EFI/Linux/berth-1-a.efi"], check=True,
                   capture_output=True, env=MTOOLS_ENV)

    def tampered_on_esp():
        got = subprocess.run(["mtype", "-i", tampered_disk + "@@1M", "::/EFI/Linux/berth-1-a.efi"], check=True,
                             capture_output=True, env=MTOOLS_ENV).stdout
        assert got == bytes(data) and got != uki, "the ESP does not hold the tampered UKI"
        r = subprocess.run(["sbverify", "--cert", SNAKEOIL_CERT, tampered], capture_output=True, text=True)
        assert r.returncode != 0, "the tampered UKI verified"
    s.check("the tampered UKI is on the ESP copy, and sbverify rejects it", tampered_on_esp)

    vm = Vm(args.berth, tampered_disk, os.path.join(work, "tampered.console"), timeout=args.boot_timeout,
            extra=["--secure-boot"])
    try:
        # systemd-boot (signed, so it starts) asks the firmware to load the UKI,
        # which refuses it: systemd-boot says so and stays in its menu.
        s.check("under Secure Boot systemd-boot starts and the firmware refuses the tampered UKI",
                lambda: vm.expect(r"Error loading \\EFI\\Linux\\berth-1-a\.efi: (Access Denied|Security Violation)",
                                  args.boot_timeout))

        def nothing_ran():
            time.sleep(3)
            assert "EFI stub" not in vm.console and "Linux version" not in vm.console, "the tampered UKI ran"
        s.check("the tampered UKI does not run: no stub, no kernel", nothing_ran)
        print(f"# secure boot A/B: tampered UKI refused in {time.monotonic() - vm.started:.1f} s", flush=True)
    finally:
        vm.close()
