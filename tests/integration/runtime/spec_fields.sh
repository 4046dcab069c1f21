#!/bin/bash
# The runtime-spec fields added last: idmapped mounts, process.execCPUAffinity,
# linux.memoryPolicy, the LSM fields (apparmorProfile, selinuxLabel,
# mountLabel) and linux.intelRdt. Each is checked from inside the container,
# where the kernel applied it, or as the error naming the field where this
# kernel cannot honour it. Needs root.
# Usage: spec_fields.sh LAUNCH_TEST_BINARY BERTH_RUNC
set -u
LAUNCH=$(realpath "${1:?usage: spec_fields.sh LAUNCH_TEST_BINARY BERTH_RUNC}")
RUNC=$(realpath "${2:?usage: spec_fields.sh LAUNCH_TEST_BINARY BERTH_RUNC}")
. "$(dirname "$0")/../../lib/check.sh"

run_in_private_mount_ns "$0" "$@"
mount_cgroup2

WORK=$(mktemp -d /tmp/berth-fields-XXXXXX)
chmod 755 "$WORK"
ROOT=$WORK/state
R() { timeout 20 "$RUNC" --root "$ROOT" "$@"; }
cleanup() {
    for id in $(ls "$ROOT" 2>/dev/null); do "$RUNC" --root "$ROOT" delete --force "$id" >/dev/null 2>&1; done
    umount -R "$WORK"/idsrc "$WORK"/nested 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
make_busybox_rootfs "$WORK/rootfs" || exit 1
mkdir -p "$WORK/rootfs/data"

# bundle NAME SCRIPT [EXTRA_JSON]: `sh -c SCRIPT`; EXTRA_JSON's objects are
# merged into the config's ("process", "linux"), "mounts" entries appended.
bundle() {
    local d=$WORK/$1
    mkdir -p "$d"
    python3 - "$d/config.json" "$WORK/rootfs" "$2" "${3:-}" <<'PY'
import json, sys
path, rootfs, script, extra = sys.argv[1:5]
caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"]
c = {"ociVersion": "1.2.0", "root": {"path": rootfs, "readonly": True},
     "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
                {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}],
     "process": {"args": ["sh", "-c", script], "cwd": "/", "env": ["PATH=/bin"],
                 "user": {"uid": 0, "gid": 0},
                 "capabilities": {k: caps for k in ("bounding", "effective", "permitted")}},
     "linux": {"namespaces": [{"type": t} for t in ("pid", "mount", "uts", "ipc", "network")]}}
if extra:
    for k, v in json.loads(extra).items():
        if k == "mounts":
            c["mounts"] += v
        elif k == "namespaces":
            c["linux"]["namespaces"] += v
        elif isinstance(v, dict) and isinstance(c.get(k), dict):
            c[k].update(v)
        else:
            c[k] = v
json.dump(c, open(path, "w"))
PY
    echo "$d"
}
launch() { OUT=$(timeout 20 "$LAUNCH" "$@" 2>&1 </dev/null); RC=$?; }
# expect DESC REGEX: the last launch printed a line matching REGEX
expect() {
    if grep -Eq -- "$2" <<<"$OUT"; then ok "$1"; else fail "$1"; echo "       wanted /$2/ in:"; sed 's/^/       /' <<<"$OUT"; fi
}
USERNS='"namespaces":[{"type":"user"}],"linux":{"uidMappings":[{"containerID":0,"hostID":100000,"size":65536}],
 "gidMappings":[{"containerID":0,"hostID":100000,"size":65536}]}'

# --- 1. idmapped mounts --------------------------------------------------------
# A tmpfs with files stored as 1000:1000 and 0:0.
mkdir -p "$WORK/idsrc"
mount -t tmpfs -o mode=1777 tmpfs "$WORK/idsrc"
touch "$WORK/idsrc/owned" "$WORK/idsrc/rootfile"
mkdir "$WORK/idsrc/shared"
chown 1000:1000 "$WORK/idsrc/owned" "$WORK/idsrc/shared"
STAT='stat -c "%n %u:%g" /data/owned /data/rootfile'

# Without a user namespace: the mount's own mappings (stored 1000 shows as 5000).
# Writes go to a directory whose owner is mapped (the kernel refuses writes to
# an inode with an unmapped owner, such as the tmpfs root here).
MAPPED='{"destination":"/data","type":"bind","source":"'$WORK'/idsrc","options":["bind","idmap"],
 "uidMappings":[{"containerID":1000,"hostID":5000,"size":10}],"gidMappings":[{"containerID":1000,"hostID":6000,"size":10}]}'
B=$(bundle idmap-own "$STAT"'; touch /data/shared/by-5000 && echo write=ok; grep " /data " /proc/self/mountinfo' \
    '{"mounts":['"$MAPPED"'],"process":{"user":{"uid":5000,"gid":6000}}}')
launch "$B"
expect "idmap: a stored 1000:1000 shows as the mapped 5000:6000" '^/data/owned 5000:6000$'
expect "idmap: an id outside the mapping shows as the overflow id" '^/data/rootfile 65534:65534$'
expect "idmap: mountinfo marks the mount idmapped" ' /data .*idmapped'
expect "idmap: a mapped user can write" '^write=ok$'
check "idmap: the file written as 5000:6000 is stored as 1000:1000" \
    [ "$(stat -c %u:%g "$WORK/idsrc/shared/by-5000" 2>/dev/null)" = 1000:1000 ]

# With the container's user namespace and a bare "idmap": the container sees
# the stored ids as its own, and root's files are stored as 0:0.
B=$(bundle idmap-userns "$STAT"'; touch /data/by-root && echo write=ok; echo ids=$(id -u):$(id -g)' \
    '{"mounts":[{"destination":"/data","type":"bind","source":"'$WORK'/idsrc","options":["rbind","idmap"]}],'"$USERNS"'}')
launch "$B"
if grep -q 'user namespace\|uid_map' <<<"$OUT" && grep -q '^launch error' <<<"$OUT"; then
    skip "user namespaces not permitted here: $OUT"
else
    expect "idmap + userns: stored 1000:1000 shows as 1000:1000 inside" '^/data/owned 1000:1000$'
    expect "idmap + userns: stored 0:0 shows as root inside" '^/data/rootfile 0:0$'
    expect "idmap + userns: root in the container" '^ids=0:0$'
    check "idmap + userns: a file root writes is stored as 0:0" \
        [ "$(stat -c %u:%g "$WORK/idsrc/by-root" 2>/dev/null)" = 0:0 ]
    B=$(bundle idmap-control "$STAT" '{"mounts":[{"destination":"/data","type":"bind","source":"'$WORK'/idsrc","options":["rbind"]}],'"$USERNS"'}')
    launch "$B"
    expect "control: without idmap the stored ids are unmapped in the user namespace" '^/data/owned 65534:65534$'
fi

# crun's idmap=uids=...;gids=... form, and ridmap reaching a mount below.
mkdir -p "$WORK/nested"
mount -t tmpfs tmpfs "$WORK/nested" && mkdir "$WORK/nested/sub" && mount -t tmpfs tmpfs "$WORK/nested/sub"
touch "$WORK/nested/top" "$WORK/nested/sub/below"
chown 1000:1000 "$WORK/nested/top" "$WORK/nested/sub/below"
for opt in idmap ridmap; do
    B=$(bundle "nested-$opt" 'stat -c "%n %u:%g" /data/top /data/sub/below' \
        '{"mounts":[{"destination":"/data","type":"bind","source":"'$WORK'/nested","options":["rbind","'$opt'=uids=1000-7000-1;gids=1000-8000-1"]}]}')
    launch "$B"
    expect "$opt=uids=...;gids=...: the top mount is mapped" '^/data/top 7000:8000$'
    if [ $opt = ridmap ]; then
        expect "ridmap: the mount below is mapped too" '^/data/sub/below 7000:8000$'
    else
        expect "idmap (not recursive): the mount below keeps its ids" '^/data/sub/below 1000:1000$'
    fi
done

# A file system the kernel cannot idmap: the launch fails at that mount.
B=$(bundle idmap-refused 'true' '{"mounts":[{"destination":"/data","type":"bind","source":"/proc","options":["bind","idmap=uids=0-1000-1;gids=0-1000-1"]}]}')
launch "$B"
expect "idmap refused by the file system: an error naming the mount" \
    "^launch error: container \`test\`: mounts: mount \`/data\` \(idmapped bind of \`/proc\`\): the kernel refused to idmap it: the file system does not support idmapped mounts \(mount_setattr: Invalid argument\)$"
B=$(bundle idmap-no-userns 'true' '{"mounts":[{"destination":"/data","type":"bind","source":"'$WORK'/idsrc","options":["bind","idmap"]}]}')
launch "$B"
expect "bare idmap without a user namespace: a config error naming the option" \
    'config.json: mounts\[3\]\.options\[1\]: without uidMappings/gidMappings on the mount it needs'

# --- 2. process.execCPUAffinity --------------------------------------------------
CPUS=$(cat /sys/devices/system/cpu/online)
AFF='grep Cpus_allowed_list /proc/self/status'
if [ "$CPUS" != "0" ]; then
    B=$(bundle affinity 'grep Cpus_allowed_list /proc/self/status >/tmp/init; sleep 30' \
        '{"process":{"execCPUAffinity":{"initial":"0","final":"1"}}}')
    R run --detach --bundle "$B" aff1 >/dev/null 2>&1
    OUT=$(R exec aff1 cat /tmp/init 2>&1)
    expect "execCPUAffinity: the container's init process keeps its affinity (the spec leaves it out)" \
        "^Cpus_allowed_list:\s+$CPUS$"
    OUT=$(R exec aff1 sh -c "$AFF" 2>&1)
    expect "execCPUAffinity: an exec'd process runs on the final CPUs" '^Cpus_allowed_list:\s+1$'
    echo '{"args":["sh","-c","'"$AFF"'"],"cwd":"/","env":["PATH=/bin"],"user":{"uid":0,"gid":0},"execCPUAffinity":{"initial":"1"}}' >"$WORK/aff-proc.json"
    OUT=$(R exec --process "$WORK/aff-proc.json" aff1 2>&1)
    expect "execCPUAffinity: without final, the process gets every CPU the cgroup allows" "^Cpus_allowed_list:\s+$CPUS$"
    echo '{"args":["true"],"cwd":"/","env":["PATH=/bin"],"user":{"uid":0,"gid":0},"execCPUAffinity":{"final":"4000"}}' >"$WORK/aff-bad.json"
    OUT=$(R exec --process "$WORK/aff-bad.json" aff1 2>&1)
    expect "execCPUAffinity: CPUs that are not online fail the exec, naming the field" \
        "execCPUAffinity: process.execCPUAffinity.final: sched_setaffinity to CPUs \`4000\`: Invalid argument"
    R delete --force aff1 >/dev/null 2>&1
else
    skip "execCPUAffinity: one CPU only"
fi
mkdir -p "$WORK/aff-syntax" && python3 - "$WORK" <<'PY'
import json, sys
c = json.load(open(sys.argv[1] + "/affinity/config.json"))
c["process"]["execCPUAffinity"] = {"final": "0-"}
json.dump(c, open(sys.argv[1] + "/aff-syntax/config.json", "w"))
PY
launch "$WORK/aff-syntax"
expect "execCPUAffinity: a bad list is a config error with its JSON path" \
    'config.json: process.execCPUAffinity.final: invalid list "0-": expected a number at offset 2'

# --- 3. linux.memoryPolicy ---------------------------------------------------------
NUMA='head -n 3 /proc/self/numa_maps | cut -d" " -f2 | sort -u'
if [ -d /sys/devices/system/node/node0 ]; then
    B=$(bundle mpol-bind "$NUMA" '{"linux":{"memoryPolicy":{"mode":"MPOL_BIND","nodes":"0"}}}')
    launch "$B"
    expect "memoryPolicy MPOL_BIND 0 in /proc/self/numa_maps" '^bind:0$'
    B=$(bundle mpol-interleave "$NUMA" '{"linux":{"memoryPolicy":{"mode":"MPOL_INTERLEAVE","nodes":"0","flags":["MPOL_F_STATIC_NODES"]}}}')
    launch "$B"
    expect "memoryPolicy MPOL_INTERLEAVE with MPOL_F_STATIC_NODES" '^interleave=static:0$'
    B=$(bundle mpol-control "$NUMA")
    launch "$B"
    expect "control: without memoryPolicy the default" '^default$'
    B=$(bundle mpol-refused 'true' '{"linux":{"memoryPolicy":{"mode":"MPOL_BIND","nodes":"63"}}}')
    launch "$B"
    expect "memoryPolicy: a node the kernel refuses fails the launch at step memoryPolicy" \
        "^launch error: container \`test\`: memoryPolicy: linux.memoryPolicy: set_mempolicy MPOL_BIND nodes \`63\`: Invalid argument"
else
    skip "memoryPolicy positive path: this kernel has no NUMA (no /sys/devices/system/node); checking the error"
    B=$(bundle mpol-nonuma 'true' '{"linux":{"memoryPolicy":{"mode":"MPOL_BIND","nodes":"0"}}}')
    launch "$B"
    expect "memoryPolicy without NUMA: the launch fails at step memoryPolicy" \
        "^launch error: container \`test\`: memoryPolicy: linux.memoryPolicy: set_mempolicy MPOL_BIND nodes \`0\`: this kernel has no NUMA support"
fi

# --- 4. LSM fields --------------------------------------------------------------------
lsm_on() { # NAME: as the runtime decides (securityfs list, AppArmor's module flag)
    if [ -r /sys/kernel/security/lsm ] && ! tr , '\n' </sys/kernel/security/lsm | grep -qx "$1"; then return 1; fi
    case $1 in
        apparmor) grep -q Y /sys/module/apparmor/parameters/enabled 2>/dev/null ;;
        selinux) [ -r /sys/kernel/security/lsm ] || [ -e /sys/fs/selinux/enforce ] ;;
    esac
}
if lsm_on apparmor; then
    skip "AppArmor is enabled here: the not-enabled error cannot be shown (the positive path is not tested here)"
else
    B=$(bundle aa 'true' '{"process":{"apparmorProfile":"berth-test"}}')
    launch "$B"
    expect "apparmorProfile without AppArmor: the launch fails naming the field" \
        "^launch error: container \`test\`: apparmorProfile: process.apparmorProfile: AppArmor is not enabled on this kernel \(cannot apply \`berth-test\`\)$"
    B=$(bundle aa-exec 'sleep 30')
    R run --detach --bundle "$B" aa1 >/dev/null 2>&1
    OUT=$(R exec --apparmor berth-test aa1 true 2>&1)
    expect "exec --apparmor without AppArmor: an error naming the field" 'process.apparmorProfile: AppArmor is not enabled on this kernel'
    R delete --force aa1 >/dev/null 2>&1
fi
if lsm_on selinux; then
    skip "SELinux is enabled here: the not-enabled errors cannot be shown"
else
    B=$(bundle se 'true' '{"process":{"selinuxLabel":"system_u:system_r:container_t:s0"}}')
    launch "$B"
    expect "selinuxLabel without SELinux: the launch fails naming the field" \
        "^launch error: container \`test\`: selinuxLabel: process.selinuxLabel: SELinux is not enabled on this kernel \(cannot apply \`system_u:system_r:container_t:s0\`\)$"
    B=$(bundle se-mount 'true' '{"linux":{"mountLabel":"system_u:object_r:container_file_t:s0"}}')
    launch "$B"
    expect "mountLabel without SELinux: the launch fails naming the field" \
        "^launch error: container \`test\`: mountLabel: linux.mountLabel: SELinux is not enabled on this kernel"
fi

# --- 5. linux.intelRdt ---------------------------------------------------------------------
B=$(bundle rdt 'true' '{"linux":{"intelRdt":{"closID":"berth"}}}')
launch "$B"
expect "intelRdt: a config error naming the field and the reason" \
    'config.json: linux.intelRdt: not supported by berth: .*resctrl'

# --- features ------------------------------------------------------------------------------------
F=$(R features)
check "features: idmap mounts enabled" grep -q '"idmap"' <<<"$F"
check "features: memoryPolicy modes listed" grep -q 'MPOL_WEIGHTED_INTERLEAVE' <<<"$F"
finish
