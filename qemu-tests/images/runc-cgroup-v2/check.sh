#!/bin/sh
# berth-runc's cgroup work on a pure cgroup v2 machine (berth's own guest, every
# controller the kernel has): limits written at create, the device filter,
# update, events --stats, pause/resume through cgroup.freeze, delete.
# Runs in an onboot container that holds every capability and the machine's
# /sys/fs/cgroup; prints `cgv2: NAME: ok` or `cgv2: NAME: FAIL (why)` per check
# and a final `cgv2: done` line (qemu-tests/runtime_tests.py reads them).
RUNC=/opt/cgtest/berth-runc
CG=/sys/fs/cgroup
W=/tmp/cgv2
R() { timeout 30 "$RUNC" --root /run/cgv2 "$@"; }
ok() { echo "cgv2: $1: ok"; }
fail() { echo "cgv2: $1: FAIL ($2)"; }
# is NAME WANT GOT
is() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "want [$2], got [$3]"; fi; }
# holds NAME CMD...: ok when CMD succeeds
holds() { n=$1; shift; if "$@" >/dev/null 2>&1; then ok "$n"; else fail "$n" "$* failed"; fi; }
status() { R state "$1" 2>/dev/null | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p'; }

FSTYPE=$(awk '$2 == "/sys/fs/cgroup" { print $3 }' /proc/mounts)
echo "cgv2: hierarchy $FSTYPE controllers: $(cat $CG/cgroup.controllers)"
is hierarchy cgroup2 "$FSTYPE"
is "no v1 hierarchy" "" "$(awk '$3 == "cgroup"' /proc/mounts)"
is "features say v2" true "$(R features | tr -d ' \n' | sed -n 's/.*"v2":\(true\|false\).*/\1/p')"

# The inner container's root: busybox and its applets.
mkdir -p $W/rootfs/bin $W/rootfs/proc $W/rootfs/dev $W/rootfs/sys $W/rootfs/tmp
cp /bin/busybox $W/rootfs/bin/
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox $W/rootfs/bin/$a; done

# Optional knobs only where this kernel has their files (a probe cgroup shows them).
mkdir $CG/cgv2-probe
EXTRA=""
HAVE_IO=no
if [ -e $CG/cgv2-probe/io.weight ]; then HAVE_IO=yes; EXTRA="$EXTRA, \"blockIO\": {\"weight\": 500}"; fi
HAVE_HUGETLB=no
if [ -e $CG/cgv2-probe/hugetlb.2MB.max ]; then
    HAVE_HUGETLB=yes; EXTRA="$EXTRA, \"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 4194304}]"
fi
rmdir $CG/cgv2-probe

# bundle NAME SCRIPT [PIDS]: a config.json running SCRIPT (kept in the root as
# /NAME.sh: JSON strings cannot hold its newlines) with every limit.
bundle() {
    mkdir -p $W/$1
    printf '%s\n' "$2" >$W/rootfs/$1.sh
    cat >$W/$1/config.json <<EOF
{"ociVersion": "1.0.2", "root": {"path": "$W/rootfs", "readonly": true}, "hostname": "cgv2",
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["ro", "nosuid", "nodev", "noexec"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup2", "source": "cgroup", "options": ["ro", "nosuid", "nodev", "noexec"]}],
 "process": {"args": ["sh", "/$1.sh"], "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0},
             "capabilities": {"bounding": ["CAP_MKNOD", "CAP_DAC_OVERRIDE"], "effective": ["CAP_MKNOD", "CAP_DAC_OVERRIDE"],
                              "permitted": ["CAP_MKNOD", "CAP_DAC_OVERRIDE"]}},
 "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "ipc"}, {"type": "cgroup"}],
           "cgroupsPath": "/cgv2/$1",
           "devices": [{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3}],
           "resources": {"devices": [{"allow": false, "access": "rwm"}],
                         "memory": {"limit": 67108864},
                         "pids": {"limit": ${3:-50}},
                         "cpu": {"quota": 50000, "period": 100000, "shares": 1024, "cpus": "0", "mems": "0"}$EXTRA}}}
EOF
}

# --- create: every limit in the container's own cgroup --------------------------------
bundle c1 'cat /proc/self/cgroup; cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max
    echo hi >/dev/null && echo null-ok; echo hi >/dev/mynull && echo mynull-ok
    mknod /tmp/null2 c 1 3 && echo hi >/tmp/null2 && echo mknod-allowed-ok
    mknod /tmp/mem c 1 1 2>/dev/null && head -c1 /tmp/mem >/dev/null 2>&1 && echo mem-read || echo mem-denied
    echo 1 >/sys/fs/cgroup/pids.max 2>/dev/null || echo cgroup-ro
    i=0; while :; do i=$((i+1)); echo $i >/tmp/tick.new; mv /tmp/tick.new /tmp/tick; sleep 0.05; done'
R create --bundle $W/c1 c1 >$W/c1.out 2>&1
RC=$?
is "create with every limit this kernel has" 0 "$RC"
[ "$RC" = 0 ] || sed 's/^/cgv2: create output: /' $W/c1.out
C=$CG/cgv2/c1
PID=$(R state c1 | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
is "the container's process is in its cgroup" "pid ${PID:-none}" "pid $(cat $C/cgroup.procs 2>/dev/null)"
is memory.max 67108864 "$(cat $C/memory.max 2>/dev/null)"
is pids.max 50 "$(cat $C/pids.max 2>/dev/null)"
is cpu.max "50000 100000" "$(cat $C/cpu.max 2>/dev/null)"
is "cpu.weight (shares 1024)" 39 "$(cat $C/cpu.weight 2>/dev/null)"
is cpuset.cpus 0 "$(cat $C/cpuset.cpus 2>/dev/null)"
is cpuset.mems 0 "$(cat $C/cpuset.mems 2>/dev/null)"
if [ $HAVE_IO = yes ]; then
    # blkio weight 500 on the 10..1000 scale is io.weight 4950 on 1..10000 (the conversion crun uses).
    is "io.weight (blkio weight 500)" "default 4950" "$(head -1 $C/io.weight 2>/dev/null)"
else
    echo "cgv2: io.weight: skip (this kernel has no io.weight)"
fi
if [ $HAVE_HUGETLB = yes ]; then
    is hugetlb.2MB.max 4194304 "$(cat $C/hugetlb.2MB.max 2>/dev/null)"
else
    echo "cgv2: hugetlb.2MB.max: skip (no 2MB huge pages)"
fi
CTRL=$(cat $C/cgroup.controllers 2>/dev/null)
is "every root controller reaches the container's cgroup" "$(cat $CG/cgroup.controllers)" "$CTRL"
is "the device filter is an eBPF program (no devices.* files on v2)" "" "$(ls $C | grep '^devices\.')"

R start c1
for _ in $(seq 100); do [ -s $W/c1.out ] && grep -q -e mem-denied -e mem-read -e cgroup-ro $W/c1.out && break; sleep 0.1; done
sleep 0.3
OUT=$(cat $W/c1.out)
is "inside: the cgroup namespace's root is the container's cgroup" "0::/" "$(echo "$OUT" | sed -n 1p)"
is "inside: the cgroup2 mount shows the limits" "67108864 50" "$(echo "$OUT" | sed -n '2,3p' | tr '\n' ' ' | sed 's/ $//')"
holds "inside: the default devices stay allowed" grep -qx null-ok $W/c1.out
holds "inside: linux.devices entries are allowed implicitly" grep -qx mynull-ok $W/c1.out
holds "inside: mknod and use of an allowed device" grep -qx mknod-allowed-ok $W/c1.out
holds "inside: a device outside the allow-list is refused (eBPF filter)" grep -qx mem-denied $W/c1.out
holds "inside: the read-only cgroup mount is read-only" grep -qx cgroup-ro $W/c1.out

# --- pids.max holds -------------------------------------------------------------------
# Its own container with pids.max 10: 20 sleepers started from a subshell (ash
# leaves a subshell whose fork fails); `read`, a builtin, needs no fork at the limit.
bundle p1 '( for i in $(seq 20); do sleep 5 & done ) 2>/dev/null
    read cur </sys/fs/cgroup/pids.current; echo "pids.current $cur"
    while read k v; do echo "pids.events $k $v"; done </sys/fs/cgroup/pids.events' 10
OUT=$(R run --bundle $W/p1 p1 2>&1)
CUR=$(echo "$OUT" | sed -n 's/^pids.current //p')
holds "pids.max 10 holds a burst of 20 processes" [ "${CUR:-99}" -le 10 -a "${CUR:-0}" -ge 8 ]
holds "pids.events counts the refused forks" [ "$(echo "$OUT" | sed -n 's/^pids.events max //p')" -gt 0 ]

# pids.max 1 leaves no room for the helper process that detaches the old root
# after pivot_root: the runtime detaches it in place.
bundle p0 'echo started' 1
OUT=$(R run --bundle $W/p0 p0 2>&1)
is "a container with pids.max 1 starts" started "$OUT"

# --- update -----------------------------------------------------------------------------
holds "update --pids-limit 77" R update --pids-limit 77 c1
is "... pids.max" 77 "$(cat $C/pids.max)"
holds "update --memory 32m" R update --memory 32m c1
is "... memory.max" 33554432 "$(cat $C/memory.max)"
holds "update --cpu-quota 20000" R update --cpu-quota 20000 c1
is "... cpu.max" "20000 100000" "$(cat $C/cpu.max)"
echo '{"pids": {"limit": 56}}' >$W/res.json
holds "update --resources FILE" R update --resources $W/res.json c1
is "... pids.max from the file" 56 "$(cat $C/pids.max)"

# --- events --stats -------------------------------------------------------------------------
EV=$(R events --stats c1 | tr -d ' \n')
has() { for p; do echo "$EV" | grep -q -e "$p" || return 1; done; }
holds "events --stats: a stats object for the container" has '"id":"c1"' '"type":"stats"'
holds "events --stats: the pids limit from update" has '"limit":56'
holds "events --stats: memory usage" has '"usage":{[^}]*"usage":[1-9]'

# --- pause / resume through cgroup.freeze ---------------------------------------------------
holds pause R pause c1
is "paused: the state" paused "$(status c1)"
is "paused: cgroup.freeze" 1 "$(cat $C/cgroup.freeze)"
is "paused: cgroup.events says frozen" "frozen 1" "$(grep '^frozen' $C/cgroup.events)"
# The tick is renamed into place: a process frozen between the truncation and the
# write of `echo >file` would leave it empty.
T1=$(cat /proc/$PID/root/tmp/tick); sleep 0.5; T2=$(cat /proc/$PID/root/tmp/tick)
holds "paused: the process does not run" [ -n "$T1" -a "$T1" = "$T2" ]
holds resume R resume c1
is "resumed: the state" running "$(status c1)"
is "resumed: cgroup.events says thawed" "frozen 0" "$(grep '^frozen' $C/cgroup.events)"
# Up to 5 s for the next tick: a loaded TCG guest may be slow to schedule it.
T1=$(cat /proc/$PID/root/tmp/tick)
for _ in $(seq 50); do sleep 0.1; T2=$(cat /proc/$PID/root/tmp/tick); [ "$T1" != "$T2" ] && break; done
holds "resumed: the process runs again" [ -n "$T1" -a "$T1" != "$T2" ]

# --- delete -----------------------------------------------------------------------------
R pause c1
holds "delete --force of a paused container" R delete --force c1
holds "delete removes the container's cgroup" [ ! -e $C ]

# run: a container that exits, its status, and its cgroup gone at once.
bundle r1 'exit 7'
R run --bundle $W/r1 r1 >/dev/null 2>&1
is "run: the exit status comes through" 7 "$?"
holds "run: the cgroup is gone when run returns" [ ! -e $CG/cgv2/r1 ]
rmdir $CG/cgv2 2>/dev/null
echo "cgv2: done"
