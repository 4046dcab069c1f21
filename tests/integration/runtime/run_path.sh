#!/bin/bash
# The work `berth-runc run` does, counted with strace: what the speed depends
# on (docs/runtime.md#speed) stays removed. Needs root and strace.
#   - on cgroup v2 the process is born in its cgroup (clone3 with
#     CLONE_INTO_CGROUP): nothing writes cgroup.procs, since moving a process
#     waits for an RCU grace period (milliseconds);
#   - config.json is read twice (parse, and the copy kept for later commands),
#     not again for the poststart and poststop hooks;
#   - a mount target that exists costs no mkdir;
#   - with nothing for the parent to do between clone and setup (no user
#     namespace, born in its cgroup, no runtime hooks) the child does not wait
#     for a go message: no send, no sleep and wake-up;
#   - on a pure cgroup v2 host the mount table is not read (a statfs of
#     /sys/fs/cgroup says so);
#   - the basic /dev nodes are made with mknod, not bound from the host: every
#     mount is copied by pivot_root and torn down when the container exits;
#   - no mkdir of a directory that exists (state root, cgroup parents, mount
#     targets' parents): the leaf first, parents only when missing;
#   - the time zone file is not read (the state's UTC time by arithmetic);
#   - the last capability is found in a few probes, once, not one probe per
#     capability twice;
#   - a container never frozen is not thawed at its end (no write to
#     cgroup.freeze), and an emptied cgroup is removed with one rmdir;
#   - the container's mount namespace is freed after run reports, by a
#     holder that dies with the runtime, not inside the exit run waits for.
# With PID 1's launcher (berth-launch-test) as well: its start is born in a
# cgroup it made, and one that exists already is joined after the clone.
# Usage: run_path.sh BERTH_RUNC [LAUNCH_TEST]
set -u
RUNC=$(realpath "${1:?usage: run_path.sh BERTH_RUNC [LAUNCH_TEST]}")
LAUNCH=${2:+$(realpath "$2")}
. "$(dirname "$0")/../../lib/check.sh"

run_in_private_mount_ns "$0" "$@"
mount_cgroup2

if ! command -v strace >/dev/null; then
    skip "strace is not installed"
    finish
fi

WORK=$(mktemp -d /tmp/berth-run-path-XXXXXX)
chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT
make_busybox_rootfs "$WORK/rootfs" || exit 1
mkdir -p "$WORK/bundle"
python3 - "$WORK/bundle/config.json" "$WORK/rootfs" <<'PY'
import json, sys
path, rootfs = sys.argv[1:3]
json.dump({"ociVersion": "1.0.2", "root": {"path": rootfs, "readonly": True},
           "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                      {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
                      {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}],
           # Long enough for run to find it running when it hands the mount
           # namespace to its holder (a /bin/true may be gone by then: no holder).
           "process": {"args": ["/bin/sleep", "0.2"], "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}},
           "linux": {"namespaces": [{"type": t} for t in ("pid", "mount", "uts", "ipc")]}}, open(path, "w"))
PY

TRACE=$WORK/trace
strace -f -qq -o "$TRACE" -e trace=clone,clone3,openat,mkdir,sendto,sendmsg,mount,mknod,mknodat,prctl "$RUNC" --root "$WORK/state" run --bundle "$WORK/bundle" rp1
check "run succeeds under strace" [ "$?" = 0 ]
check "the process is cloned into its cgroup (CLONE_INTO_CGROUP)" has "$TRACE" 'clone3\(.*CLONE_INTO_CGROUP'
check "nothing opens cgroup.procs for writing" bash -c "! grep -qE 'cgroup\.procs.*O_WRONLY' '$TRACE'"
if [ -n "$LAUNCH" ]; then
    CG=/sys/fs/cgroup/berth-run-path-$$
    strace -f -qq -o "$TRACE.pid1" -e trace=clone3,openat "$LAUNCH" --cgroup "$CG" "$WORK/bundle" >/dev/null 2>&1
    check "PID 1's launch: born in the cgroup it made" has "$TRACE.pid1" 'clone3\(.*CLONE_INTO_CGROUP'
    check "PID 1's launch: nothing opens cgroup.procs for writing" \
        bash -c "! grep -qE 'cgroup\.procs.*O_WRONLY' '$TRACE.pid1'"
    # A restart finds its cgroup, maybe emptied with cgroup.kill: some kernels
    # kill a process cloned into such a cgroup at birth, so it joins after.
    [ -e "$CG/cgroup.kill" ] && echo 1 >"$CG/cgroup.kill"
    OUT=$(strace -f -qq -o "$TRACE.pid1" -e trace=clone3,openat "$LAUNCH" --cgroup "$CG" "$WORK/bundle" 2>&1)
    check "PID 1's launch into a cgroup that exists (killed before) runs: $OUT" [ "$OUT" = "exit status 0" ]
    check "  it is moved in after the clone" has "$TRACE.pid1" 'cgroup\.procs.*O_WRONLY'
    rmdir "$CG" 2>/dev/null
fi
N=$(grep -c 'bundle/config\.json' "$TRACE")
check "the bundle's config.json is read once, the copy kept from those bytes (read $N times)" [ "$N" = 1 ]
N=$(grep -c '/state/rp1/config\.json' "$TRACE")
check "the saved config.json is written once and not read back during run (opened $N times)" [ "$N" = 1 ]
"$RUNC" --root "$WORK/state" create --bundle "$WORK/bundle" rp-copy >/dev/null 2>&1
check "the saved config.json is the bundle's, byte for byte" cmp -s "$WORK/bundle/config.json" "$WORK/state/rp-copy/config.json"
# The creation time is UTC, now (computed without the time zone file).
CREATED=$("$RUNC" --root "$WORK/state" state rp-copy | python3 -c 'import json,sys; print(json.load(sys.stdin)["created"])')
check "the state's creation time is now, in UTC ($CREATED)" python3 -c '
import datetime, sys
t = sys.argv[1]
assert t.endswith("Z") and len(t) == 30, t
when = datetime.datetime.strptime(t[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
assert abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) < 60, t' "$CREATED"
"$RUNC" --root "$WORK/state" delete --force rp-copy >/dev/null 2>&1
# /proc, /dev and /tmp exist in the rootfs, the state root and the cgroup
# parent exist: each directory made costs one mkdir, and nothing existing is
# made again (not the state root, not the parents of /dev/pts).
N=$(grep -E 'mkdir\(' "$TRACE" | grep -c EEXIST)
check "no mkdir of a directory that exists ($N)" [ "$N" = 0 ]
check "the time zone file is not read" bash -c "! grep -q localtime '$TRACE'"
N=$(grep -c 'PR_CAPBSET_READ' "$TRACE")
check "the last capability is found in at most 6 probes ($N)" [ "$N" -le 6 ]
check "a container never frozen is not thawed (no write to cgroup.freeze)" \
    bash -c "! grep -qE 'cgroup\.freeze.*O_WRONLY' '$TRACE'"
check "no go message is sent to the child" bash -c "! grep -qE '^[0-9]+ +send(to|msg)\\(' '$TRACE'"
check "the mount table is not read on a cgroup v2 host" bash -c "! grep -q 'mountinfo' '$TRACE'"
N=$(grep -cE 'mknodat?\(.*/rootfs/dev/(null|zero|full|random|urandom|tty)", S_IFCHR\|0666' "$TRACE")
check "the six basic /dev nodes are made with mknod, mode 0666 ($N)" [ "$N" = 6 ]
N=$(grep -cE 'mount\("/dev/(null|zero|full|random|urandom|tty)", "[^"]*/rootfs/dev/' "$TRACE")
check "no /dev node is bound from the host ($N)" [ "$N" = 0 ]
check "the container's cgroup is gone afterwards" [ ! -e /sys/fs/cgroup/berth/rp1 ]
# The main process reaped and nothing else in the cgroup: one rmdir, no
# thaw check and no list of its processes.
check "an emptied cgroup is removed without reading cgroup.freeze or cgroup.procs" \
    bash -c "! grep -qE 'cgroup\.(freeze|procs)' '$TRACE'"
# The container's mount namespace gets a second holder (a CLONE_VM child of
# the runtime killed when it exits), so unmounting the container's tree is not
# part of the container's exit, which run waits for.
N=$(grep -cE 'openat\(.*"/proc/[0-9]+/ns/mnt"' "$TRACE")
check "the container's mount namespace is opened once, for its holder ($N)" [ "$N" = 1 ]
check "the holder is cloned with CLONE_VM" has "$TRACE" 'clone\(.*CLONE_VM'
# Its pid from its own first call (a clone's result may be on a later,
# resumed line when strace interleaves processes).
HOLDER=$(grep -E 'prctl\(PR_SET_PDEATHSIG, SIGKILL' "$TRACE" | awk '{print $1; exit}')
check "the holder asks to be killed when the runtime exits (PR_SET_PDEATHSIG)" [ -n "$HOLDER" ]
gone=no
[ -n "$HOLDER" ] && for _ in $(seq 1 100); do
    state=$(awk '/^State:/ {print $2}' "/proc/$HOLDER/status" 2>/dev/null)
    if [ -z "$state" ] || [ "$state" = Z ]; then gone=yes; break; fi
    sleep 0.02
done
check "the holder does not outlive run ($HOLDER)" [ "$gone" = yes ]

# The old root is detached before the container's program starts: the
# program sees only its own mounts, and no other process of the runtime.
python3 - "$WORK/bundle/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
# Builtins only for the second line: the processes listed are the shell alone.
c["process"]["args"] = ["sh", "-c", "cut -d' ' -f5 /proc/self/mountinfo | tr '\\n' ' '; echo; for p in /proc/[0-9]*/comm; do read n <$p; printf '%s ' $n; done; echo"]
json.dump(c, open(sys.argv[1], "w"))
PY
for i in 1 2 3 4 5; do
    OUT=$("$RUNC" --root "$WORK/state" run --bundle "$WORK/bundle" "rp-mnt$i" 2>&1)
    [ "$(head -1 <<<"$OUT")" = "/ /proc /dev /tmp " ] || break
    [ "$(sed -n 2p <<<"$OUT")" = "sh " ] || break
done
check "the container sees only its own mounts, never the old root's (5 runs)" [ "$(head -1 <<<"$OUT")" = "/ /proc /dev /tmp " ]
[ "$(head -1 <<<"$OUT")" = "/ /proc /dev /tmp " ] || echo "$OUT"
check "no helper process is left in the container (processes: $(sed -n 2p <<<"$OUT"))" [ "$(sed -n 2p <<<"$OUT")" = "sh " ]

# Without noNewPrivileges the filter is loaded before the capabilities are
# dropped: nothing of the runtime's own setup may run under it (a filter that
# refuses wait4 must not stop the start).
python3 - "$WORK/bundle/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["args"] = ["sh", "-c", "echo filtered-ran"]
c["process"]["noNewPrivileges"] = False
c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                         "syscalls": [{"names": ["wait4", "waitid"], "action": "SCMP_ACT_ERRNO"}]}
json.dump(c, open(sys.argv[1], "w"))
PY
OUT=$("$RUNC" --root "$WORK/state" run --bundle "$WORK/bundle" rp-seccomp 2>&1)
check "a filter that refuses wait4, loaded early, does not stop the start" [ "$OUT" = filtered-ran ]
[ "$OUT" = filtered-ran ] || echo "$OUT"

finish
