#!/usr/bin/env bash
# Runs the real static PID 1 inside new pid, mount, uts, ipc and net namespaces
# over a prepared root: early boot, onboot order, services, a broken bundle,
# zombie reaping, poweroff by signal with SIGTERM to services first. No VM.
# usage: run.sh PATH-TO-berth-init
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../lib/check.sh"
init_bin=$(readlink -f "$1")
[ "$(id -u)" = 0 ] || { echo "skip - the whole test: needs root"; echo "0 passed, 0 failed, 1 skipped"; exit 77; }

work=$(mktemp -d /var/tmp/berth-pid1.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{proc,sys,dev,run,tmp,var,etc/berth,etc/sysctl.d,containers/onboot,containers/services}
cp "$init_bin" "$root/init"
echo pid1-test > "$root/etc/hostname"
echo "kernel.domainname = berth-test" > "$root/etc/sysctl.d/10-test.conf"
mkdir -p "$root/var/lib/preseeded" && echo kept > "$root/var/lib/preseeded/file"

# bundle KIND NAME PIDNS CAPS-JSON SCRIPT
bundle() {
    local dir=$root/containers/$1/$2 pidns=$3 caps=$4 script=$5
    make_busybox_rootfs "$dir/rootfs"
    local ns='{"type":"mount"}'
    [ "$pidns" = new ] && ns='{"type":"pid"},{"type":"mount"}'
    local esc=${script//\\/\\\\}; esc=${esc//\"/\\\"}
    cat > "$dir/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "root": {"path": "rootfs", "readonly": true},
  "process": {
    "args": ["/bin/sh", "-c", "$esc"],
    "env": ["PATH=/bin"], "cwd": "/",
    "user": {"uid": 0, "gid": 0},
    "capabilities": {"bounding": $caps, "effective": $caps, "permitted": $caps, "inheritable": $caps},
    "noNewPrivileges": true
  },
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid","noexec","nodev"]},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid","strictatime","mode=755","size=65536k"]},
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid","nodev"]}
  ],
  "linux": {"namespaces": [$ns]}
}
JSON
}

bundle onboot 000-first new '[]' 'echo onboot-first-ran; sleep 0.2'
bundle onboot 001-fails new '[]' 'echo onboot-fails-ran; exit 3'
bundle onboot 002-last new '[]' 'echo onboot-last-ran'
bundle services checker new '["CAP_NET_BIND_SERVICE"]' \
  'echo "check: pid=$$"; if touch /probe 2>/dev/null; then echo "check: rootfs writable"; else echo "check: rootfs read-only"; fi; grep -E "^(CapEff|SigBlk|SigIgn)" /proc/self/status | sed "s/^/check: /"; echo "check: fds=$(ls /proc/self/fd | tr "\n" " ")"; exec sleep 1000'
bundle services graceful new '[]' \
  'trap "echo graceful: got SIGTERM; exit 0" TERM; echo graceful: ready; while :; do sleep 0.1; done'
bundle services poweroff host '["CAP_KILL"]' \
  'for i in $(seq 1 200); do (sleep 0.05 &); done; sleep 2; echo "poweroff: pid1 $(grep -E "^VmHWM" /proc/1/status)"; echo "poweroff: zombies=$(cat /proc/[0-9]*/stat 2>/dev/null | awk "\$3==\"Z\"" | wc -l)"; echo poweroff: requesting; kill -USR2 1; exec sleep 1000'
# bindNS (LinuxKit's runtime.json): an onboot container's new network namespace,
# with lo brought up in it, is bound to a path before its program starts and
# outlives it; a service joins it by that path.
bundle onboot 003-netns new '["CAP_NET_ADMIN"]' 'ip link set lo up && echo "netns-owner: $(readlink /proc/self/ns/net)"'
sed -i 's|{"type":"mount"}\]|{"type":"mount"},{"type":"network"}]|' "$root/containers/onboot/003-netns/config.json"
echo '{"bindNS": {"net": "/run/netns/berth-test"}}' > "$root/containers/onboot/003-netns/runtime.json"
# A bind that cannot be made fails the container before its program runs.
bundle onboot 004-badbind new '[]' 'echo badbind-ran'
echo '{"bindNS": {"uts": "/proc/berth-nope/uts"}}' > "$root/containers/onboot/004-badbind/runtime.json"
# A path that holds another file system is refused, never detached: /run (and
# the netns bound under it) must stay for the services.
bundle onboot 005-binddir new '[]' 'echo binddir-ran'
echo '{"bindNS": {"uts": "/run"}}' > "$root/containers/onboot/005-binddir/runtime.json"
bundle services netjoiner new '[]' 'echo "netns-joiner: $(readlink /proc/self/ns/net) $(ip -o link show lo | grep -o "<[^>]*>")"; exec sleep 1000'
sed -i 's|{"type":"mount"}\]|{"type":"mount"},{"type":"network","path":"/run/netns/berth-test"}]|' "$root/containers/services/netjoiner/config.json"
# interfaces (LinuxKit's runtime.json): before its program starts, an onboot
# container gets a veth pair's end (the peer stays in the root namespace), a
# link created in its namespace, one created in the root namespace and moved,
# and an existing root interface (mv0, made before PID 1 starts) moved in; its
# namespace is bound so that a service can join it and reach the root end.
links='ip -o link | cut -d: -f2 | cut -d@ -f1 | tr -d " " | sort | tr "\n" " "'
bundle onboot 006-ifaces new '["CAP_NET_ADMIN"]' \
  "ip link set lo up && ip addr add 10.99.0.2/24 dev veth-c && ip link set veth-c up && echo \"ifaces-inside: \$($links)\""
sed -i 's|{"type":"mount"}\]|{"type":"mount"},{"type":"network"}]|' "$root/containers/onboot/006-ifaces/config.json"
cat > "$root/containers/onboot/006-ifaces/runtime.json" <<'JSON'
{"interfaces": [{"name": "veth-c", "peer": "veth-r", "createInRoot": false},
                {"name": "ifb-in", "add": "ifb"},
                {"name": "ifb-moved", "add": "ifb", "createInRoot": true},
                {"name": "mv0"}],
 "bindNS": {"net": "/run/netns/berth-ifaces"}}
JSON
# An interface that is not there fails its container before its program runs.
bundle onboot 007-noif new '[]' 'echo noif-ran'
sed -i 's|{"type":"mount"}\]|{"type":"mount"},{"type":"network"}]|' "$root/containers/onboot/007-noif/config.json"
echo '{"interfaces": [{"name": "nosuch0"}]}' > "$root/containers/onboot/007-noif/runtime.json"
# A bridge cannot leave its namespace: made in the root namespace, the move
# fails, and it is removed again rather than left behind.
bundle onboot 008-brmove new '[]' 'echo brmove-ran'
sed -i 's|{"type":"mount"}\]|{"type":"mount"},{"type":"network"}]|' "$root/containers/onboot/008-brmove/config.json"
echo '{"interfaces": [{"name": "brx", "add": "bridge", "createInRoot": true}]}' > "$root/containers/onboot/008-brmove/runtime.json"
# A link kind the kernel does not have: the error says where to look.
bundle onboot 009-nokind new '[]' 'echo nokind-ran'
sed -i 's|{"type":"mount"}\]|{"type":"mount"},{"type":"network"}]|' "$root/containers/onboot/009-nokind/config.json"
echo '{"interfaces": [{"name": "nk0", "add": "berthnokind"}]}' > "$root/containers/onboot/009-nokind/runtime.json"
# (rs-r: the peer of ifrestart's veth below, there while it runs.)
bundle services ifroot host '["CAP_NET_ADMIN","CAP_NET_RAW"]' \
  "ip addr add 10.99.0.1/24 dev veth-r && ip link set veth-r up; echo \"ifroot: links \$($links | sed 's/rs-r //')\"; r=failed; for i in \$(seq 1 30); do ping -c 1 -W 1 10.99.0.2 >/dev/null 2>&1 && { r=ok; break; }; sleep 0.05; done; echo \"ifroot: ping veth-c \$r\"; exec sleep 1000"
bundle services ifjoin new '["CAP_NET_RAW"]' \
  "r=failed; for i in \$(seq 1 30); do ping -c 1 -W 1 10.99.0.1 >/dev/null 2>&1 && { r=ok; break; }; sleep 0.05; done; echo \"ifjoin: ping veth-r \$r\"; exec sleep 1000"
sed -i 's|{"type":"mount"}\]|{"type":"mount"},{"type":"network","path":"/run/netns/berth-ifaces"}]|' "$root/containers/services/ifjoin/config.json"
# A restarted service gets its interfaces again: its earlier namespace, and
# the veth pair with it, went when it exited. It fails at once, three times.
bundle services ifrestart new '["CAP_NET_ADMIN"]' \
  "echo \"ifrestart: start \$(ip -o link | grep -c ' rs-c@')\"; exit 1"
sed -i 's|{"type":"mount"}\]|{"type":"mount"},{"type":"network"}]|' "$root/containers/services/ifrestart/config.json"
echo '{"interfaces": [{"name": "rs-c", "peer": "rs-r"}],
      "berth": {"restart": "always", "restartDelay": "50ms", "giveUp": {"failures": 3, "window": "10s", "action": "none"}}}' \
  > "$root/containers/services/ifrestart/runtime.json"
# A 5 MB config.json: refused before it is read, in the launch process; PID 1's
# memory never sees it.
bundle services huge new '[]' 'echo huge-ran'
python3 - "$root/containers/services/huge/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["annotations"] = {"pad.%d" % i: "x" * 1000 for i in range(5000)}
json.dump(c, open(p, "w"))
PY
# A service that never becomes ready, and one that depends on it: boot
# complete names the one still waiting.
bundle services neverready new '[]' 'echo neverready: up; exec sleep 1000'
echo '{"berth": {"readiness": {"type": "notify-fd", "timeout": "1s"}, "restartDelay": "30s"}}' > "$root/containers/services/neverready/runtime.json"
bundle services waiter new '[]' 'echo waiter-ran; exec sleep 1000'
echo '{"berth": {"dependsOn": ["neverready"]}}' > "$root/containers/services/waiter/runtime.json"
# Devices declared by match (runtime.json berth.devices): /dev/fuse is present,
# so the container has the node, with the declared mode, and its device cgroup
# (deny everything but the defaults) lets it open it; with CAP_MKNOD, a node of
# a device it did not declare (/dev/kmsg) may be made (runc's default "c *:* m")
# but that cgroup refuses to open it.
bundle services devgrant new '["CAP_MKNOD"]' \
  'echo "devgrant: $(ls -l /dev/fuse | cut -c1-10) $(exec 3<>/dev/fuse && echo opened || echo refused), kmsg $(mknod /dev/probe c 1 11 2>/dev/null; (exec 3>/dev/probe) 2>/dev/null && echo opened || echo refused)"; exec sleep 1000'
sed -i 's|"linux": {|"linux": {"resources": {"devices": [{"allow": false, "access": "rwm"}]}, |' "$root/containers/services/devgrant/config.json"
echo '{"berth": {"devices": [{"match": "/dev/fuse", "mode": "0640"}]}}' > "$root/containers/services/devgrant/runtime.json"
mkdir -p "$root/containers/services/broken/rootfs"
echo '{"ociVersion": "1.0.2", "process": {"args": [42]}}' > "$root/containers/services/broken/config.json"

log=$work/console.log
start=$(date +%s%N)
timeout 60 unshare --pid --mount --uts --ipc --net --fork --propagation private \
  sh -c "ip link add mv0 type veth peer name mv1 && mount --bind '$root' '$root' && cd '$root' && exec chroot . /init" > "$log" 2>&1
rc=$?
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
sed 's/^/  | /' "$log"

check "PID 1 exits only through reboot(2) in its namespace (status $rc, not a timeout)" [ "$rc" != 124 ]
check "boot complete line with counts" has "$log" 'boot complete in [0-9]+ ms: 4 onboot ok, 6 onboot failed, 7 services running'
check "devices by match: a device present at launch is made with the declared mode and its cgroup allows it" \
  has "$log" 'devgrant: crw-r----- opened, kmsg refused$'
check "mounted proc, sys, devtmpfs, devpts" has "$log" 'mounted devpts on /dev/pts'
check "in a pid namespace the devtmpfs is the host's: no node's mode or group is changed" \
  has "$log" 'device nodes: in a pid namespace, /dev is the host.s: its modes are left alone'
check "root made read-only" has "$log" 'root file system is read-only'
check "hostname from /etc/hostname" has "$log" 'hostname pid1-test'
check "lo brought up through netlink" has "$log" 'lo is up'
check "sysctl.d applied" has "$log" 'applied 1 sysctl settings'
check "image files under /var survive its tmpfs" has "$log" 'mounted tmpfs on /var \(kept 1 image files\)'
first=$(line_of "$log" 'onboot-first-ran'); second=$(line_of "$log" 'onboot-fails-ran')
third=$(line_of "$log" 'onboot-last-ran')
svc=$(line_of "$log" 'services [a-z]+: started')
# One command for check: every comparison counts (lines $first, $second, $third).
onboot_in_lexical_order() { [ "$first" -gt 0 ] && [ "$second" -gt "$first" ] && [ "$third" -gt "$second" ]; }
check "onboot containers ran in lexical order (lines $first, $second, $third)" onboot_in_lexical_order
check "every onboot container finished before any service started" [ "$svc" -gt "$(line_of "$log" 'onboot 002-last: exit status 0')" ]
owner_ns=$(sed -n 's/.*netns-owner: \(net:\[[0-9]*\]\).*/\1/p' "$log")
joiner_ns=$(sed -n 's/.*netns-joiner: \(net:\[[0-9]*\]\).*/\1/p' "$log")
check "bindNS: a service joins an exited onboot container's network namespace by its path (${owner_ns:-?} / ${joiner_ns:-?})" \
  bash -c "[ -n '$owner_ns' ] && [ '$owner_ns' = '$joiner_ns' ]"
check "bindNS: the joined namespace is the owner's (lo is up there)" has "$log" 'netns-joiner: net:\[[0-9]+\] <LOOPBACK,UP,LOWER_UP>'
check "bindNS: a bind that cannot be made fails its container, naming runtime.json and the path" has "$log" 'onboot 004-badbind: FAILED.*/004-badbind/runtime.json: bindNS.uts `/proc/berth-nope/uts`'
check "bindNS: ... and its program never ran" bash -c "! grep -q badbind-ran '$log'"
check "bindNS: a path holding another file system is refused (and /run stays mounted)" has "$log" 'onboot 005-binddir: FAILED.*bindNS.uts `/run`: create the mount point: Is a directory'
check "interfaces: the container has the veth end, the links made for it and the moved one" has "$log" 'ifaces-inside: ifb-in ifb-moved lo mv0 veth-c $'
check "interfaces: the root namespace keeps the veth peer and mv1, none of what went in, no bridge left" has "$log" 'ifroot: links lo mv1 veth-r $'
check "interfaces: each entry is logged as done, naming runtime.json" has "$log" '006-ifaces/runtime.json: veth pair created, `veth-c` in the container, `veth-r` in the root namespace'
check "interfaces: the root namespace reaches the container over the veth pair" has "$log" 'ifroot: ping veth-c ok'
check "interfaces + bindNS: a service that joined the bound namespace reaches the root end" has "$log" 'ifjoin: ping veth-r ok'
check "interfaces: a missing interface fails its container, naming runtime.json, the entry and the interface" \
  has "$log" 'onboot 007-noif: FAILED.*/007-noif/runtime.json: interfaces\[0\] `nosuch0`: find it in the root namespace: No such device'
check "interfaces: ... and its program never ran" bash -c "! grep -q noif-ran '$log'"
check "interfaces: a link that cannot move fails its container, naming the move and the errno" \
  has "$log" 'onboot 008-brmove: FAILED.*/008-brmove/runtime.json: interfaces\[0\] `brx`: move it into the container.s network namespace: Invalid argument'
check "interfaces: ... and its program never ran" bash -c "! grep -q brmove-ran '$log'"
check "interfaces: an unknown link kind fails its container, pointing at kernel.modules" \
  has "$log" 'onboot 009-nokind: FAILED.*interfaces\[0\] `nk0`: create a `berthnokind` link: Operation not supported \(a link kind this kernel does not have: is its module in the YAML.s kernel.modules\?\)'
check "interfaces: a restarted service gets its veth end again (3 starts, each with it)" \
  bash -c "[ \$(grep -c 'ifrestart: start 1\$' '$log') = 3 ]"
check "failing onboot container reported loudly with its status" has "$log" 'onboot 001-fails: FAILED: exit status 3'
check "a 5 MB config.json is refused, naming file, size and limit" has "$log" 'services huge: FAILED to start: .*/services/huge/config.json: [0-9]{7} bytes, over the 1048576-byte limit for config.json'
hwm=$(sed -n 's/.*poweroff: pid1 VmHWM:[[:space:]]*\([0-9]*\) kB.*/\1/p' "$log")
check "PID 1's peak memory stays small with a 5 MB config.json (VmHWM ${hwm:-?} kB)" [ "${hwm:-999999}" -lt 16000 ]
check "a service whose dependency never gets ready is named in the boot summary" has "$log" 'boot complete: still waiting: waiter \(for neverready \((stopping|restarting)\)\)'
check "the waiting service never ran" bash -c "! grep -q waiter-ran '$log'"
check "broken bundle fails alone" has "$log" 'services broken: FAILED to start: '
check "broken bundle's error names file, field and reason" has "$log" 'services/broken/config.json: process.args\[0\]: expected string, got number'
check "a service that ignores SIGTERM as pid 1 of its namespace is killed without waiting out the grace" has "$log" 'services checker: pid 1 of its namespace has no SIGTERM handler, sending SIGKILL now'
check "service is pid 1 of its namespace" has "$log" 'check: pid=1$'
check "service cannot write its root" has "$log" 'check: rootfs read-only'
check "service holds only CAP_NET_BIND_SERVICE" has "$log" 'check: CapEff:[[:space:]]+0000000000000400'
check "service starts with no blocked signals" has "$log" 'check: SigBlk:[[:space:]]+0000000000000000'
check "service starts with no ignored signals" has "$log" 'check: SigIgn:[[:space:]]+0000000000000000'
check "service sees only fds 0-2 (+ the one ls opens)" has "$log" 'check: fds=0 1 2 3 $'
check "poweroff signal handled" has "$log" 'SIGUSR2 from pid [0-9]+: poweroff'
check "services got SIGTERM first and their handlers ran" has "$log" 'graceful: got SIGTERM'
check "all containers stopped before the end" has "$log" 'all containers stopped'
check "poweroff reached reboot(2)" has "$log" 'poweroff now'
check "200 orphans re-parented to PID 1 were all reaped" has "$log" 'poweroff: zombies=0$'
check "the whole run, shutdown included, took well under the 10 s grace (${elapsed_ms} ms)" [ "$elapsed_ms" -lt 9000 ]

# The emergency path: PID 1's own setup fails (a test switch). It must log,
# keep reaping and obey a poweroff signal at once, not freeze.
elog=$work/emergency.log
timeout 40 unshare --pid --mount --uts --ipc --net --fork --propagation private \
  sh -c "mount --bind '$root' '$root' && cd '$root' && exec env BERTH_TEST_SETUP_FAILURE=1 chroot . /init" > "$elog" 2>&1 &
tpid=$!
for i in $(seq 1 100); do grep -q 'emergency: reboot in 10s' "$elog" && break; sleep 0.1; done
upid=$(pgrep -P "$tpid" | head -1); ipid=$(pgrep -P "${upid:-0}" | head -1)
sleep 1
t0=$(date +%s%N)
[ -n "$ipid" ] && kill -USR2 "$ipid"
wait "$tpid"; erc=$?
signal_to_end_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
sed 's/^/  e| /' "$elog"
check "a failure of PID 1's own setup is logged" has "$elog" 'PID 1 cannot go on: setup failure requested by BERTH_TEST_SETUP_FAILURE'
check "then the documented emergency path: reboot after 10 s, signals still obeyed" has "$elog" 'emergency: reboot in 10s'
check "a poweroff signal during the delay is obeyed at once (${signal_to_end_ms} ms, status $erc)" \
  bash -c "grep -q 'emergency: signal 12: poweroff' '$elog' && grep -q 'poweroff now' '$elog' && [ $signal_to_end_ms -lt 5000 ] && [ $erc != 124 ]"

# The image's own choice (image.json, as `berth build` writes it from the
# YAML's `emergency:`): poweroff after 1 s, with no signal from outside.
ilog=$work/emergency-image.log
printf '{"emergency": {"action": "poweroff", "delay": "1s"}}\n' > "$root/etc/berth/image.json"
t0=$(date +%s%N)
timeout 30 unshare --pid --mount --uts --ipc --net --fork --propagation private \
  sh -c "mount --bind '$root' '$root' && cd '$root' && exec env BERTH_TEST_SETUP_FAILURE=1 chroot . /init" > "$ilog" 2>&1
irc=$?
image_end_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
rm -f "$root/etc/berth/image.json"
sed 's/^/  i| /' "$ilog"
check "the emergency choice comes from image.json: poweroff after 1s" has "$ilog" 'emergency: poweroff in 1s'
check "and it happens by itself (${image_end_ms} ms, status $irc)" \
  bash -c "grep -q 'poweroff now' '$ilog' && [ $image_end_ms -lt 15000 ] && [ $irc != 124 ]"
finish
