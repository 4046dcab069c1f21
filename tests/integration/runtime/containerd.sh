#!/bin/bash
# containerd driving berth-runc through its io.containerd.runc.v2 shim, on the
# host's cgroups as they are: the test starts its own containerd (private
# socket, root and state under a temp dir), imports a busybox image and runs
# `ctr run --runc-binary BERTH_RUNC`: output and exit codes, task exec, task ps,
# task kill, pause/resume, terminals (run -t, exec -t), pids and memory
# limits, a create error reaching ctr. Needs root
# and Debian's containerd. Prints the time per `ctr run --rm` (pass runc's
# path instead of berth-runc's to get the peer's figure from the same checks).
# Usage: containerd.sh BERTH_RUNC
set -u
RUNC=$(realpath "${1:?usage: containerd.sh BERTH_RUNC}")
. "$(dirname "$0")/../../lib/check.sh"
skip() { echo "$*; skipping"; echo "0 passed, 0 failed"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
for t in containerd ctr containerd-shim-runc-v2 umoci skopeo script; do
    command -v $t >/dev/null || skip "$t is not installed (tools/install-deps)"
done

WORK=$(mktemp -d /tmp/berth-containerd-XXXXXX)
chmod 755 "$WORK"
SOCK=$WORK/containerd.sock
NS=berthctr$$                   # containerd namespace; also the parent cgroup of the containers
IMAGE=berth.test/busybox:1
CD_PID=
C() { timeout 60 ctr --address "$SOCK" --namespace "$NS" "$@"; }
# ctr run with berth-runc under the shim; its state lives under WORK too.
RUN() { C run --runc-binary "$RUNC" --runc-root "$WORK/runc" "$@"; }

# Mount points under WORK, deepest first.
mounts_under_work() { awk -v w="$WORK" '$5 == w || index($5, w "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r; }
# Shims serving our socket: they outlive containerd when a task is left.
our_shims() {
    local p
    for p in /proc/[0-9]*; do
        { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q -- "-address $SOCK " && echo "${p#/proc/}"
    done
}
our_cgroups() { ls -d /sys/fs/cgroup/*/"$NS" /sys/fs/cgroup/"$NS" 2>/dev/null; }
cleanup() {
    if [ -n "$CD_PID" ] && kill -0 "$CD_PID" 2>/dev/null; then
        for t in $(C task ls -q 2>/dev/null); do C task rm -f "$t" >/dev/null 2>&1; done
        for c in $(C containers ls -q 2>/dev/null); do C containers rm "$c" >/dev/null 2>&1; done
        kill "$CD_PID" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$CD_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$CD_PID" 2>/dev/null
        wait "$CD_PID" 2>/dev/null
    fi
    for p in $(our_shims); do kill -KILL "$p" 2>/dev/null; done
    for m in $(mounts_under_work); do umount -R "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
    # Processes a failed run left behind (a frozen task survives ctr task rm -f
    # on a runtime that does not thaw it): thaw, kill, then remove the cgroups.
    for d in $(our_cgroups); do
        find "$d" -name freezer.state -exec sh -c 'echo THAWED >"$1"' _ {} \; 2>/dev/null
        find "$d" -name cgroup.freeze -exec sh -c 'echo 0 >"$1"' _ {} \; 2>/dev/null
        find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null
    done
    # A cgroup stays busy for a moment while its last task is reaped: retry, bounded.
    for _ in $(seq 20); do
        for d in $(our_cgroups); do find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null; done
        [ -z "$(our_cgroups)" ] && break
        sleep 0.1
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# --- containerd on a private socket, every path under WORK --------------------------------
SNAPSHOTTER=native
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null
grep -qw overlay /proc/filesystems && SNAPSHOTTER=overlayfs
cat >"$WORK/config.toml" <<EOF
version = 2
root = "$WORK/root"
state = "$WORK/state"
# No CRI (it wants CNI and network) and no snapshotters this test does not use.
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp",
                    "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = ""
  level = "debug"
[metrics]
  address = ""
[plugins."io.containerd.service.v1.diff-service"]
  default = ["walking"]
EOF
containerd --config "$WORK/config.toml" >"$WORK/containerd.log" 2>&1 &
CD_PID=$!
up=
for _ in $(seq 100); do
    timeout 5 ctr --address "$SOCK" version >/dev/null 2>&1 && { up=1; break; }
    kill -0 "$CD_PID" 2>/dev/null || break
    sleep 0.1
done
check "containerd answers on its private socket" [ -n "$up" ]
[ -n "$up" ] || { tail -20 "$WORK/containerd.log"; finish; exit; }
export CONTAINERD_SNAPSHOTTER=$SNAPSHOTTER
echo "# snapshotter: $SNAPSHOTTER"

# --- a busybox image: umoci layout -> docker archive (skopeo) -> ctr images import ---------
make_busybox_rootfs "$WORK/rootfs" || exit 1
chmod 755 "$WORK/rootfs"
{
    umoci init --layout "$WORK/layout" &&
    umoci new --image "$WORK/layout:bb" &&
    umoci unpack --image "$WORK/layout:bb" "$WORK/unpacked" &&
    cp -a "$WORK/rootfs/." "$WORK/unpacked/rootfs/" &&
    umoci repack --image "$WORK/layout:bb" "$WORK/unpacked" &&
    umoci config --image "$WORK/layout:bb" --config.cmd sh &&
    skopeo copy "oci:$WORK/layout:bb" "docker-archive:$WORK/bb.tar:$IMAGE" &&
    C images import "$WORK/bb.tar"
} >"$WORK/image.log" 2>&1
check "the busybox image is imported" grep -q "$IMAGE" <(C images ls -q)
rm -rf "$WORK/unpacked"

# --- ctr run: output and exit codes -----------------------------------------------------
OUT=$(RUN --rm "$IMAGE" hello echo hi 2>&1); RC=$?
check "ctr run --rm: output of echo" [ "$OUT" = hi ]
check "ctr run --rm: exit code 0" [ "$RC" = 0 ]
[ "$RC" = 0 ] || { echo "$OUT"; grep -E 'level=(error|warning)' "$WORK/containerd.log" | tail -5; }
RUN --rm "$IMAGE" exit3 sh -c 'exit 3' >/dev/null 2>&1; RC=$?
check "ctr run --rm: a non-zero exit code propagates (3)" [ "$RC" = 3 ]
OUT=$(RUN --rm "$IMAGE" ownpid sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; readlink /proc/self/ns/pid' 2>&1)
check "ctr run: the process is pid 1 of a pid namespace of its own" \
    [ "$(sed -n 1p <<<"$OUT")" = 'sh -c cat /proc/1/cmdline | tr "\0" " "; echo; readlink /proc/self/ns/pid ' \
      -a "$(sed -n 2p <<<"$OUT")" != "$(readlink /proc/self/ns/pid)" ]
OUT=$(RUN --rm "$IMAGE" nofile /nonexistent 2>&1); RC=$?
check "ctr run: a missing executable fails create, with berth-runc's message in ctr's error" \
    [ "$RC" != 0 -a -n "$(grep -F 'executable `/nonexistent` not found' <<<"$OUT")" ]
check "ctr run: the failed container is gone from the runtime's state" [ ! -e "$WORK/runc/$NS/nofile" ]

# --- ctr run -d, task exec, task ps, task kill --------------------------------------------
RUN -d --memory-limit 33554432 "$IMAGE" daemon \
    sh -c 'sleep 1000 & trap "echo got-term; exit 7" TERM; while :; do sleep 0.1; done' >/dev/null 2>&1
check "ctr run -d: the task is running" grep -Eq "^daemon +[0-9]+ +RUNNING" <(C task ls)
OUT=$(C task exec --exec-id ex1 daemon sh -c 'echo from-exec; cat /proc/1/cmdline | tr "\0" " "; exit 5' 2>&1); RC=$?
check "ctr task exec: output, in the container's pid namespace" \
    [ "$OUT" = "$(printf 'from-exec\nsh -c sleep 1000 & trap "echo got-term; exit 7" TERM; while :; do sleep 0.1; done ')" ]
check "ctr task exec: the exit code propagates (5)" [ "$RC" = 5 ]
PIDS=$(C task ps daemon 2>&1 | awk 'NR > 1 && $1 ~ /^[0-9]+$/' | wc -l)
check "ctr task ps: lists the container's processes (berth-runc ps --format json)" [ "$PIDS" -ge 2 ]
check "berth-runc ps refuses ps(1) options it does not run" \
    eval '! "$RUNC" --root "$WORK/runc/$NS" ps daemon -ef >/dev/null 2>&1'
# The memory limit from --memory-limit, in the task's cgroup on the host.
TPID=$(C task ls | awk '$1 == "daemon" { print $2 }')
CGPATH=$(awk -F: '$2 == "memory" || ($1 == 0 && $2 == "") { print $3; exit }' /proc/"$TPID"/cgroup 2>/dev/null)
MEM=$(cat /sys/fs/cgroup/memory"$CGPATH"/memory.limit_in_bytes /sys/fs/cgroup"$CGPATH"/memory.max 2>/dev/null | head -1)
check "ctr run --memory-limit: the limit is on the task's cgroup ($CGPATH)" [ "$MEM" = 33554432 ]
C task kill daemon >/dev/null 2>&1
stopped=
for _ in $(seq 50); do grep -Eq "^daemon +[0-9]+ +STOPPED" <(C task ls) && { stopped=1; break; }; sleep 0.1; done
check "ctr task kill (SIGTERM): the task stops" [ -n "$stopped" ]
OUT=$(C task rm daemon 2>&1)
check "ctr task rm: reports the exit code the TERM trap chose (7)" grep -q "exit code 7" <<<"$OUT"
check "ctr task rm: the runtime's state of the container is gone" [ ! -e "$WORK/runc/$NS/daemon" ]
check "ctr task rm: no process of the container is left (sleep 1000 included)" \
    [ -z "$(ls /sys/fs/cgroup/*"$CGPATH"/cgroup.procs 2>/dev/null | xargs cat 2>/dev/null)" ]
C containers rm daemon >/dev/null 2>&1

# SIGKILL stops a task that ignores nothing: the shim passes the signal through kill.
RUN -d "$IMAGE" killme sleep 1000 >/dev/null 2>&1
C task kill -s SIGKILL killme >/dev/null 2>&1
stopped=
for _ in $(seq 50); do grep -Eq "^killme +[0-9]+ +STOPPED" <(C task ls) && { stopped=1; break; }; sleep 0.1; done
check "ctr task kill -s SIGKILL: the task stops" [ -n "$stopped" ]
C task rm killme >/dev/null 2>&1; C containers rm killme >/dev/null 2>&1

# --- terminals (console socket) and pause/resume -------------------------------------------
# ctr -t wants a terminal of its own: script(1) gives it one.
tty_run() { timeout 60 script -qec "$1" /dev/null 2>&1 | grep -oE "^(\^@)?(/dev/pts/[0-9]+|rc=[0-9]+)" | sed "s/^\^@//"; }
OUT=$(tty_run "ctr --address $SOCK --namespace $NS run -t --rm --runc-binary $RUNC --runc-root $WORK/runc $IMAGE ttyrun sh -c 'tty; exit 4'; echo rc=\$?")
check "ctr run -t: the process has a pty (console socket) and its exit code (4)" \
    [ "$(grep -E '^(/dev/pts/|rc=)' <<<"$OUT" | tr '\n' ' ')" = "/dev/pts/0 rc=4 " ]
RUN -d "$IMAGE" paused sh -c 'i=0; while :; do i=$((i+1)); echo $i >>/count; sleep 0.02; done' >/dev/null 2>&1
OUT=$(tty_run "ctr --address $SOCK --namespace $NS task exec -t --exec-id tx paused sh -c 'tty; exit 2'; echo rc=\$?")
check "ctr task exec -t: the console socket is the engine's, not a path in the container" \
    [ "$(grep -E '^(/dev/pts/|rc=)' <<<"$OUT" | tr '\n' ' ')" = "/dev/pts/0 rc=2 " ]
[ "$(grep -cE '^(/dev/pts/|rc=2)' <<<"$OUT")" = 2 ] || echo "$OUT"
PPID_=$(C task ls | awk '$1 == "paused" { print $2 }')
C task pause paused >/dev/null 2>&1; RC=$?
# The counter appends: its file grows while the processes run.
count_size() { stat -c %s /proc/"$PPID_"/root/count 2>/dev/null; }
N1=$(count_size); sleep 0.3; N2=$(count_size)
check "ctr task pause: PAUSED and the processes are frozen" \
    [ "$RC" = 0 -a -n "$N1" -a "$N1" = "$N2" -a -n "$(C task ls | grep -E '^paused +[0-9]+ +PAUSED')" ]
echo "# counter while paused: $N1 -> $N2 bytes"
C task resume paused >/dev/null 2>&1; RC=$?
sleep 0.3; N3=$(count_size)
check "ctr task resume: RUNNING and the processes go on" \
    [ "$RC" = 0 -a -n "$N3" -a "${N3:-0}" -gt "${N2:-0}" -a -n "$(C task ls | grep -E '^paused +[0-9]+ +RUNNING')" ]
C task pause paused >/dev/null 2>&1
OUT=$(C task rm -f paused 2>&1); RC=$?
check "ctr task rm -f of a paused task: it goes (thawed, then killed)" \
    [ "$RC" = 0 -a -z "$(C task ls -q)" -a ! -e "$WORK/runc/$NS/paused" ]
[ "$RC" = 0 ] || echo "$OUT"
echo "# counter after resume: $N3 bytes"
C containers rm paused >/dev/null 2>&1

# --- a pids limit (and memory) visible inside: a full spec given with --config ------------
python3 - "$WORK/pids.json" "$WORK/rootfs" "/$NS/limited" <(C oci spec) <<'PY'
import json, sys
out, rootfs, cgpath, default = sys.argv[1:5]
s = json.load(open(default))        # ctr's own default spec, as ctr run would use
s["root"] = {"path": rootfs, "readonly": True}
s["process"]["args"] = ["sh", "-c",
    "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max;"
    "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"]
s["process"]["env"] = ["PATH=/bin"]
s["mounts"].append({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                    "options": ["ro", "nosuid", "nodev", "noexec"]})
s["linux"]["cgroupsPath"] = cgpath
s["linux"].setdefault("resources", {})["pids"] = {"limit": 42}
s["linux"]["resources"]["memory"] = {"limit": 67108864}
json.dump(s, open(out, "w"))
PY
OUT=$(RUN --rm --config "$WORK/pids.json" limited 2>&1)
check "pids limit 42 visible inside the container" [ "$(sed -n 1p <<<"$OUT")" = 42 ]
check "memory limit 64 MiB visible inside the container" [ "$(sed -n 2p <<<"$OUT")" = 67108864 ]
[ "$(sed -n 1p <<<"$OUT")" = 42 ] || echo "$OUT"

# --- time per ctr run --rm (client, containerd, shim, runtime: the whole path) ------------
N=10
T0=$(date +%s%N)
for i in $(seq $N); do RUN --rm "$IMAGE" "t$i" true >/dev/null 2>&1; done
T1=$(date +%s%N)
echo "# $(basename "$RUNC"): $(( (T1 - T0) / N / 1000000 )) ms per ctr run --rm (mean of $N, true)"

# --- nothing is left -----------------------------------------------------------------------
check "no task or container left in containerd" [ -z "$(C task ls -q)$(C containers ls -q)" ]
check "the runtime has no container left" [ -z "$(ls "$WORK/runc/$NS" 2>/dev/null)" ]
check "no rootfs mount left under containerd's state" \
    [ -z "$(mounts_under_work | grep -v "^$WORK/root")" ]
# Expected: the missing executable above, and the shim resuming the paused task
# it killed, which has exited (runc fails that resume the same way).
unexpected_errors() {
    grep -E 'level=error' "$WORK/containerd.log" | grep -v 'copy shim log' |
        grep -Fv 'executable `/nonexistent` not found' | grep -v 'resuming exited container from paused state'
}
check "berth-runc logged no unexpected error under the shim" [ -z "$(unexpected_errors)" ]
unexpected_errors | tail -5
cleanup
trap - EXIT
check "cleanup: containerd has exited" eval '! kill -0 "$CD_PID" 2>/dev/null'
check "cleanup: no shim of this test is left" [ -z "$(our_shims)" ]
check "cleanup: no mount under the temp dir is left" [ -z "$(mounts_under_work)" ]
check "cleanup: no cgroup of this test is left" [ -z "$(our_cgroups)" ]
our_cgroups
check "cleanup: the temp dir is removed" [ ! -e "$WORK" ]
finish
