"""Boot tests of LinuxKit-style YAML: the kernel from a kernel image (`kernel: image:`),
`init:` images merged into the root (LinuxKit's own init, runc and containerd
skipped) and a ca-certificates-like image's file read inside the guest; user data
handed over with `berth run qemu --data` (examples/metadata.yml); LinuxKit's Redis OS
and examples/getty.yml, written as LinuxKit writes them, from `linuxkit/…` references
in a store."""
import os
import re
import shutil
import subprocess
import time

from example_tests import redis_cli
from harness import BootFailure, Vm, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
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


# The rest of LinuxKit's WireGuard example (examples/wireguard.yml there), written as it
# is and merged after examples/getty.yml, so that one boot checks both: a sysctl
# onboot, two onboot containers that each get a new network namespace with a
# WireGuard link made in the root namespace and moved in (`createInRoot`), configured
# by `lk-wg-config` and kept by `bindNS`, and nginx and rngd services, nginx joining
# the first namespace. The images are make-linuxkit-images' stand-ins under the
# references LinuxKit's file names (its lk-wg-config sets addresses, not keys).
WIREGUARD_PART_YML = """\
onboot:
  - name: sysctl
    image: linuxkit/sysctl:43ac1d39da329c3567fcb9689e5ca99de6d169b6
  - name: wg0
    image: linuxkit/ip:3c0676ee83a0dc739685be1253b8326f08581ef7
    net: new
    binds:
      - /etc/wireguard:/etc/wireguard
    command: ["/usr/bin/lk-wg-config", "configure", "/etc/wireguard/wg0.conf"]
    runtime:
      interfaces:
        - name: wg0
          add: wireguard
          createInRoot: true
      bindNS:
        net: /run/netns/wg0
  - name: wg1
    image: linuxkit/ip:3c0676ee83a0dc739685be1253b8326f08581ef7
    net: new
    binds:
      - /etc/wireguard:/etc/wireguard
    command: ["/usr/bin/lk-wg-config", "configure", "/etc/wireguard/wg1.conf"]
    runtime:
      interfaces:
        - name: wg1
          add: wireguard
          createInRoot: true
      bindNS:
        net: /run/netns/wg1
services:
  - name: rngd
    image: linuxkit/rngd:984eb580ecb63986f07f626b61692a97aacd7198
  - name: nginx
    image: nginx:1.13.8-alpine
    net: /run/netns/wg0
    capabilities:
     - CAP_NET_BIND_SERVICE
     - CAP_CHOWN
     - CAP_SETUID
     - CAP_SETGID
     - CAP_DAC_OVERRIDE
files:
  - path: etc/wireguard/wg0.conf
    contents: |
      [Interface]
      Address = 10.99.0.1/24
      ListenPort = 51820
  - path: etc/wireguard/wg1.conf
    contents: |
      [Interface]
      Address = 10.99.0.2/24
      ListenPort = 51821
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


def metadata_boot(args, s):
    """examples/metadata.yml booted as `linuxkit run --data` would be, with LinuxKit's
    --disk file=…,size=… form and --mem 1G."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = os.path.join(args.out, "images")
    store = os.path.join(args.out, "store-metadata")
    # The reader's image, from the berth-metadata built next to this berth.
    reader_images = os.path.join(args.out, "metadata-images")
    reader = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(args.berth))),
                          "metadata", "berth-metadata")
    s.check("examples/metadata.yml builds",
            lambda: (sh([os.path.join(root, "examples", "images", "make-metadata-image"), "--binary", reader,
                         os.path.join(reader_images, "metadata")]),
                     sh([args.berth, "build", "-o", out, "--name", "metadata", "--images", args.images,
                         "--images", reader_images, "--store", store,
                         os.path.join(root, "examples", "metadata.yml")])))
    disk = os.path.join(args.out, "metadata-disk.img")
    if os.path.exists(disk):
        os.unlink(disk)
    # JSON, so the reader expands it as LinuxKit's metadata package does: LinuxKit's
    # `entries` layout with a perm, its earlier layout, and two unsafe names that
    # must be skipped with an error while the rest is written. Also shell
    # metacharacters, which must arrive unchanged.
    data = ('{"app": {"entries": {"greeting": {"perm": "0600", "content": "hello from the host: $HOME \'q\'"},'
            ' "conf.d": {"entries": {"a.conf": {"content": "x=1"}}}}},'
            ' "legacy": {"name": {"perm": "0644", "content": "old layout"}},'
            ' "..": {"entries": {"escaped": {"content": "no"}}},'
            ' "bad": {"entries": {"x/../../y": {"content": "no"}}}}')
    vm = Vm(args.berth, os.path.join(out, "metadata"), os.path.join(args.out, "metadata.console"),
            timeout=args.boot_timeout, mem="1G", typing=True,
            extra=["--data", data, "--disk", f"file={disk},size=16M"])
    try:
        def boots():
            m = vm.expect(BOOT_DONE, args.boot_timeout)
            assert m.group(1, 2, 3) == ("2", "0", "1"), m.group(0)
        s.check("examples/metadata.yml boots with --data", boots)
        s.check("the onboot reader writes the CD's config to /run/config/userdata and expands the JSON",
                lambda: vm.expect(r"metadata: /run/config/userdata from the config file of the CD; "
                                  r"JSON: 7 written, 2 skipped", 5))
        s.check("a later container reads the user data unchanged",
                lambda: vm.expect("userdata: " + re.escape(data), 5))

        def unsafe_names():
            for name in ("..", "bad/x/../../y"):
                vm.expect(re.escape(f"metadata: user data entry `{name}`: the name is not one path component"), 5)
        s.check("unsafe JSON names are reported, each with its path", unsafe_names)

        def files_in_guest():
            time.sleep(1)
            vm.type("\n")
            vm.type("cd /run/config && echo files=$(find . -type f | sort | tr '\\n' ' ')"
                    " mode=$(stat -c %a app/greeting) greeting=$(cat app/greeting)"
                    " legacy=$(cat legacy/name) conf=$(cat app/conf.d/a.conf) end; cd /\n")
            m = vm.expect(r"files=(.*?) mode=(\d+) greeting=(.*?) legacy=(.*?) conf=(.*?) end\r?\n", 30)
            assert m.group(1).split() == ["./app/conf.d/a.conf", "./app/greeting", "./legacy/name",
                                          "./userdata"], m.group(1)
            assert m.group(2) == "600", m.group(2)
            assert m.group(3) == "hello from the host: $HOME 'q'", m.group(3)
            assert m.group(4) == "old layout" and m.group(5) == "x=1", m.group(0)
        s.check("the JSON's files are in /run/config with their contents and perms, nothing outside", files_in_guest)

        def guest_sizes():
            time.sleep(1)
            vm.type("\n")
            vm.type("echo mem=$(sed -n 's/MemTotal: *//p' /proc/meminfo) disk=$(cat /sys/block/vda/size)\n")
            # Up to the end of the line: the console arrives in pieces, and a match
            # on a partly received line reads a cut number ("disk=327" of 32768).
            m = vm.expect(r"mem=(\d+) kB disk=(\d+)\r?\n", 30)
            mem_kb, sectors = int(m.group(1)), int(m.group(2))
            assert 900 * 1024 < mem_kb <= 1024 * 1024, f"MemTotal {mem_kb} kB with --mem 1G"
            assert sectors == 16 * 2048, f"{sectors} sectors for size=16M"
            assert os.path.getsize(disk) == 16 << 20
        s.check("--mem 1G and --disk file=…,size=16M reach the guest", guest_sizes)

        def leave():
            vm.power_off_from_shell()
        s.check("the machine powers off", leave)
    finally:
        vm.close()


def linuxkit_store(args, name):
    """A store holding what LinuxKit's examples name: Debian's cloud kernel imported as
    linuxkit/kernel:6.1-debian-cloud (with virtio and WireGuard, built into LinuxKit's kernels, as modules
    the kernel image names) and the stand-ins of make-linuxkit-images (the
    certificate bundle holding CERT)."""
    root = os.path.dirname(HERE)
    store = os.path.join(args.out, f"store-{name}")
    shutil.rmtree(store, ignore_errors=True)
    cert = os.path.join(args.out, f"{name}-ca.crt")
    with open(cert, "w") as f:
        f.write(CERT)
    sh([args.berth, "kernel", "import", "--store", store, "--modules", "virtio_pci,virtio_net,wireguard",
        "linux-image-cloud-amd64", "--tag", "linuxkit/kernel:6.1-debian-cloud"])
    sh([os.path.join(root, "examples", "images", "make-linuxkit-images"), "--store", store, "--cert", cert,
        os.path.join(args.out, f"{name}-images")], env=dict(os.environ, BERTH=os.path.abspath(args.berth)))
    return store


def linuxkit_getty_boot(args, s):
    """examples/getty.yml (LinuxKit's form: kernel image, init: with ca-certificates,
    linuxkit/… references) built from a store and booted: DHCP, a password login on
    the serial console from the root's /etc/getty.shadow, the certificates there."""
    root = os.path.dirname(HERE)
    store = linuxkit_store(args, "lk-getty")
    out = os.path.join(args.out, "images")
    wireguard = os.path.join(args.out, "wireguard-part.yml")
    with open(wireguard, "w") as f:
        f.write(WIREGUARD_PART_YML)
    s.check("examples/getty.yml with LinuxKit's WireGuard example merged after it builds",
            lambda: sh([args.berth, "build", "-o", out, "--name", "getty", "--store", store,
                        os.path.join(root, "examples", "getty.yml"), wireguard]))
    vm = Vm(args.berth, os.path.join(out, "getty"), os.path.join(args.out, "lk-getty.console"),
            timeout=args.boot_timeout, typing=True)
    try:
        def boots():
            m = vm.expect(BOOT_DONE, args.boot_timeout)
            assert m.group(1, 2, 3) == ("4", "0", "3"), m.group(0)
            vm.expect(r"udhcpc: eth0 configured: 10\.0\.2\.15/", 5)
            vm.expect(r"wg0: lk-wg-config: wg0 10\.99\.0\.1/24 up", 5)
            vm.expect(r"wg1: lk-wg-config: wg1 10\.99\.0\.2/24 up", 5)
            vm.expect(r"nginx: nginx: httpd on port 80", 10)
        s.check("it boots; dhcpcd configures eth0; each WireGuard link is set up in its own namespace", boots)

        def wrong_password():
            vm.expect(r"login: ", 30)
            vm.type("root\n")
            vm.expect(r"Password: ", 15)
            vm.type("not-the-password\n")
            vm.expect(r"Login incorrect", 30)
        s.check("getty asks for a login; a wrong password is refused", wrong_password)

        def login():
            # login flushes what is typed while it pauses after a failure: wait for the
            # prompts that follow the refusal, and for the shell.
            vm.expect(r"Login incorrect[\s\S]*login: ", 30)
            vm.type("root\n")
            vm.expect(r"Login incorrect[\s\S]*Password: ", 15)
            vm.type("getty-example\n")
            vm.expect(r"Login incorrect[\s\S]*Password: [\s\S]*# ", 30)
            vm.type("echo logged-in=$(id -u) cert=$(sed -n 2p /hostroot/etc/ssl/certs/ca-certificates.crt)\n")
            vm.expect(r"logged-in=0 cert=berth-test-ca", 30)
        s.check("root logs in with getty.shadow's password and reads ca-certificates' bundle", login)

        def wireguard_namespaces():
            # The links live in the bound namespaces, not in the root one, and nginx,
            # which joined wg0's, serves there.
            vm.type("echo root-wg=$(ip -o link | grep -c ': wg[01]') "
                    "ns0=$(nsenter --net=/run/netns/wg0 ip -o -4 address show wg0 | awk '{print $4}') "
                    "ns1=$(nsenter --net=/run/netns/wg1 ip -o -4 address show wg1 | awk '{print $4}') "
                    "page=$(nsenter --net=/run/netns/wg0 wget -q -O - http://10.99.0.1/) end\n")
            m = vm.expect(r"root-wg=(\d+) ns0=(\S*) ns1=(\S*) page=(.*?) end\r?\n", 30)
            assert m.group(1, 2, 3) == ("0", "10.99.0.1/24", "10.99.0.2/24"), m.group(0)
            assert m.group(4) == "served by the nginx stand-in", m.group(0)
        s.check("the WireGuard links are in the bound namespaces; nginx serves in wg0's", wireguard_namespaces)

        def leave():
            vm.power_off_from_shell()
        s.check("the machine powers off", leave)
    finally:
        vm.close()


def linuxkit_redis_boot(args, s):
    """LinuxKit's Redis OS as LinuxKit writes it (qemu-tests/images/linuxkit-redis-os.yml):
    the Debian kernel imported as linuxkit/kernel:…, stand-ins for LinuxKit's getty, dhcpcd
    and ca-certificates and the Redis image imported into a store under LinuxKit's
    references. The YAML is built as it is, alone."""
    if shutil.which("redis-cli") is None:
        raise BootFailure("redis-cli not found (apt-get install redis-tools)")
    root = os.path.dirname(HERE)
    store = linuxkit_store(args, "lk-redis")
    env = dict(os.environ, BERTH=os.path.abspath(args.berth))
    sh([os.path.join(root, "examples", "images", "make-redis-image"), "--import", "redis:7.0.15",
        "--store", store, os.path.join(args.out, "lk-redis-oci")], env=env)
    yml = os.path.join(HERE, "images", "linuxkit-redis-os.yml")
    out = os.path.join(args.out, "images")
    log = {}

    def build():
        log["text"] = sh([args.berth, "build", "-o", out, "--name", "lk-redis", "--store", store, yml])
    s.check("LinuxKit's Redis OS YAML builds from linuxkit/… references in the store", build)

    def notes():
        text = log.get("text", "")
        # The line each of LinuxKit's own init images is on, read from the YAML itself.
        with open(yml) as f:
            lines = {l.strip()[2:].split(":")[0]: n for n, l in enumerate(f, 1) if l.startswith("  - linuxkit/")}
        for name in ("linuxkit/init", "linuxkit/runc", "linuxkit/containerd"):
            assert f"linuxkit-redis-os.yml:{lines[name]}:5: init: `{name}:" in text, text
        assert "init: linuxkit/ca-certificates:" in text, text
        assert "(6.1.0-" in text and "-cloud-amd64)" in text, text
        assert re.search(r"modules to load: .*virtio_pci .*virtio_net", text), text
    s.check("init, runc and containerd skipped at their lines; ca-certificates merged; the imported kernel "
            "with the virtio modules its image names",
            notes)

    port = free_port()
    vm = Vm(args.berth, os.path.join(out, "lk-redis"), os.path.join(args.out, "lk-redis.console"),
            publish=[f"{port}:6379"], timeout=args.boot_timeout + 120, typing=True)
    try:
        def boots():
            m = vm.expect(BOOT_DONE, args.boot_timeout)
            assert m.group(1, 2, 3) == ("1", "0", "2"), m.group(0)
        s.check("it boots: dhcpcd onboot, getty and redis running", boots)
        s.check("redis-cli ping answers PONG", lambda: _expect(redis_cli(port, "ping"), "PONG"))

        def writable_root():
            value = f"lk-{os.getpid()}"
            _expect(redis_cli(port, "set", "berth:lk", value), "OK")
            _expect(redis_cli(port, "get", "berth:lk"), value)
            info = redis_cli(port, "info", "persistence")
            assert "aof_enabled:1" in info and "aof_last_write_status:ok" in info, info
        s.check("SET/GET, the append-only file written in the container's writable root", writable_root)

        def certificates():
            vm.type("\n")
            vm.type("echo cert=$(sed -n 2p /hostroot/etc/ssl/certs/ca-certificates.crt)\n")
            vm.expect(r"cert=berth-test-ca", 30)
        s.check("getty's INSECURE shell on the serial console reads ca-certificates' bundle", certificates)

        def leave():
            vm.power_off_from_shell()
        s.check("the machine powers off", leave)
    finally:
        vm.close()


def _expect(got, want):
    assert got == want, f"got {got!r}, expected {want!r}"
