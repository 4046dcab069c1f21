"""LinuxKit's two-container network pattern (its wireguard example, with busybox,
and a veth pair to carry the traffic): an onboot container gets a new network
namespace; runtime.json `interfaces` puts into it one end of a veth pair (the
peer stays in the root namespace), a WireGuard link made in the root namespace
and moved (`createInRoot`, as LinuxKit's example has it) and a dummy link made
inside; `bindNS` keeps the namespace at a path after the container exits. A
service joins it with `net: PATH` and serves over the veth, and a service in
the root namespace reaches it there."""
import os
import subprocess

from harness import BootFailure, Vm

# Written as LinuxKit's examples are, except `modules`: Debian's kernel has
# these link kinds as modules (LinuxKit's kernels have them built in). Loading
# dummy makes a dummy0 in the root namespace, so the container's is dm0 (a link
# created in the container must not have the name of one in the root namespace). Debian's busybox wget
# crashes with -T, so the client has none.
NETNS_YML = """\
kernel:
  image: debian-kernel:cloud
  cmdline: "console=ttyS0"
  modules: [veth, wireguard, dummy]
onboot:
  - name: netns
    image: busybox
    net: new
    capabilities:
      - CAP_NET_ADMIN
    command:
      - sh
      - -c
      - >-
        ip link set lo up && ip address add 10.77.0.2/24 dev veth0 && ip link set veth0 up &&
        echo "netns: links $(ip -o link | cut -d: -f2 | cut -d@ -f1 | tr -d ' ' | sort | tr '\\n' ' ')"
    runtime:
      interfaces:
        - name: veth0
          peer: veth0-root
        - name: wg0
          add: wireguard
          createInRoot: true
        - name: dm0
          add: dummy
      bindNS:
        net: /run/netns/app
  - name: rootend
    image: busybox
    capabilities:
      - CAP_NET_ADMIN
    command: ["sh", "-c", "ip address add 10.77.0.1/24 dev veth0-root && ip link set veth0-root up"]
services:
  - name: app
    image: busybox
    net: /run/netns/app
    capabilities:
      - CAP_NET_BIND_SERVICE
      - CAP_NET_RAW
    command:
      - sh
      - -c
      - >-
        mkdir -p /www && echo "served from the app namespace" > /www/index.html &&
        httpd -p 10.77.0.2:80 -h /www &&
        if ping -c 1 -W 5 10.77.0.1 >/dev/null; then echo "app: ping root end ok"; else echo "app: ping root end failed"; fi;
        exec sleep 100000
  - name: client
    image: busybox
    command:
      - sh
      - -c
      - >-
        echo "client: links $(ip -o link | cut -d: -f2 | cut -d@ -f1 | tr -d ' ' | sort | tr '\\n' ' ')";
        for i in $(seq 1 50); do page=$(wget -q -O - http://10.77.0.2/) && break; sleep 0.2; done;
        echo "client: got '$page'";
        exec sleep 100000
"""


def linuxkit_network_boot(args, s):
    work = os.path.join(args.out, "linuxkit-network")
    os.makedirs(work, exist_ok=True)
    yml = os.path.join(work, "netns.yml")
    with open(yml, "w") as f:
        f.write(NETNS_YML)
    out = os.path.join(args.out, "images")
    cmd = [args.berth, "build", "-o", out, "--name", "netns", "--images", args.images, "--arch", args.arch]
    if args.init:
        cmd += ["--init", args.init]

    def build():
        r = subprocess.run(cmd + [yml], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise BootFailure(f"{' '.join(cmd)} failed:\n{r.stdout}")
    s.check("a YAML with runtime interfaces and bindNS builds", build)

    vm = Vm(args.berth, os.path.join(out, "netns"), os.path.join(args.out, "netns.console"),
            timeout=args.boot_timeout)
    try:
        s.check("it boots: 2 onboot ok, 2 services running",
                lambda: vm.expect(r"boot complete in \d+ ms: 2 onboot ok, 0 onboot failed, 2 services running",
                                  args.boot_timeout))
        s.check("PID 1 made the veth pair before the container's program, naming runtime.json",
                lambda: vm.expect(r"onboot/000-netns/runtime\.json: veth pair created, `veth0` in the container, "
                                  r"`veth0-root` in the root namespace", 1))
        s.check("PID 1 made the WireGuard link in the root namespace and moved it",
                lambda: vm.expect(r"000-netns/runtime\.json: `wireguard` link `wg0` created in the container "
                                  r"\(made in the root namespace, then moved\)", 1))
        s.check("the onboot container's namespace has lo, its veth end, the WireGuard and the dummy link",
                lambda: vm.expect(r"netns: links dm0 lo veth0 wg0 $", 30))
        s.check("the root namespace keeps the veth peer, none of the container's links",
                lambda: vm.expect(r"client: links (?!.*\b(veth0|wg0|dm0)\b ).*\bveth0-root\b", 30))
        s.check("the service that joined the bound namespace reaches the root namespace over the veth",
                lambda: vm.expect(r"app: ping root end ok", 30))
        s.check("a root-namespace service fetches the joined service's page over the veth",
                lambda: vm.expect(r"client: got 'served from the app namespace'", 30))
    finally:
        vm.close()
