#!/bin/bash
# berth-runc on the host's cgroups as they are, with no cgroup2 remount: the
# v1 and hybrid hierarchies (limits, joins, the cgroup mount, delete), the
# create/start conformance regressions, and podman driving it. Needs root.
# Usage: host_cgroups.sh BERTH_RUNC
set -u
RUNC=$(realpath "${1:?usage: host_cgroups.sh BERTH_RUNC}")
. "$(dirname "$0")/../../lib/check.sh"
if [ "$(id -u)" != 0 ]; then
    echo "needs root; skipping"
    echo "0 passed, 0 failed"
    exit 77
fi

WORK=$(mktemp -d /tmp/berth-hostcg-XXXXXX)
chmod 755 "$WORK"
ROOT=$WORK/state
TAG=berthtest$$                 # parent cgroup of this run's containers
R() { timeout 20 "$RUNC" --root "$ROOT" "$@"; }
P() { timeout 120 podman --runtime "$RUNC" --cgroup-manager cgroupfs "$@"; }
cleanup() {
    for id in $(ls "$ROOT" 2>/dev/null); do "$RUNC" --root "$ROOT" delete --force "$id" >/dev/null 2>&1; done
    if command -v podman >/dev/null; then
        for c in $(podman ps -aq --filter label=berth-test="$TAG" 2>/dev/null); do
            podman --runtime "$RUNC" rm -f "$c" >/dev/null 2>&1
        done
    fi
    for d in /sys/fs/cgroup/*/"$TAG"* /sys/fs/cgroup/"$TAG"*; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    if [ -d "$WORK/pstore" ]; then
        podman --root "$WORK/pstore" --runroot "$WORK/prun" --storage-driver vfs rm -af >/dev/null 2>&1
        podman --root "$WORK/pstore" --runroot "$WORK/prun" --storage-driver vfs system reset -f >/dev/null 2>&1
        umount -R "$WORK/pstore" "$WORK/prun" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

make_busybox_rootfs "$WORK/rootfs" || exit 1
chmod 755 "$WORK/rootfs"
# bundle NAME SCRIPT [EXTRA_TOP_LEVEL_JSON]: a config.json running `sh -c SCRIPT`;
# objects in EXTRA are merged one level deep, null removes a key.
bundle() {
    local d=$WORK/$1
    mkdir -p "$d"
    python3 - "$d/config.json" "$WORK/rootfs" "$2" "${3:-}" <<'PY'
import json, sys
path, rootfs, script, extra = sys.argv[1:5]
c = {"ociVersion": "1.0.2", "root": {"path": rootfs, "readonly": True}, "hostname": "cg-test",
     "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
                {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}],
     "process": {"args": ["sh", "-c", script], "cwd": "/", "env": ["PATH=/bin"],
                 "user": {"uid": 0, "gid": 0}},
     "linux": {"namespaces": [{"type": t} for t in ("pid", "mount", "uts", "ipc", "network")]}}
if extra:
    for k, v in json.loads(extra).items():
        if isinstance(v, dict) and isinstance(c.get(k), dict):
            for k2, v2 in v.items():
                if v2 is None:
                    c[k].pop(k2, None)
                else:
                    c[k][k2] = v2
        elif v is None:
            c.pop(k, None)
        else:
            c[k] = v
json.dump(c, open(path, "w"))
PY
    echo "$d"
}
quiet() { "$@" >/dev/null 2>&1; }
json_get() { python3 -c 'import json,sys; print(json.load(sys.stdin)'"$1"')'; }
state_pid() { R state "$1" | json_get '["pid"]'; }

FEAT=$(R features | python3 -c 'import json,sys; c=json.load(sys.stdin)["linux"]["cgroup"]; print(c["v1"], c["v2"])')
check "features: cgroup v1 and v2" [ "$FEAT" = "True True" ]

# --- cgroup v1 / hybrid: limits, every hierarchy, the cgroup mount, delete -------------
if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ]; then
    CG=/sys/fs/cgroup
    RES='{"devices": [{"allow": false, "access": "rwm"}],
          "memory": {"limit": 67108864, "swappiness": 10, "disableOOMKiller": true},
          "pids": {"limit": 50}, "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"}}'
    MOUNT_CG='{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
               "options": ["ro", "nosuid", "nodev", "noexec", "relatime"]}'
    B=$(bundle v1 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.shares
        sed "s/^[0-9]*:[^:]*://" /proc/self/cgroup | sort -u | tr "\n" " "; echo
        echo hi >/dev/mynull && echo mynull-ok; echo hi >/dev/null && echo null-ok
        echo 1 >/sys/fs/cgroup/pids/pids.max 2>/dev/null || echo cgroup-ro' \
        '{"linux": {"cgroupsPath": "/'"$TAG"'/v1", "resources": '"$RES"',
                    "devices": [{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3}]},
          "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                     {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
                     {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["ro", "nosuid", "nodev", "noexec"]},
                     '"$MOUNT_CG"']}')
    # The container keeps create's stdio: files, never a pipe we would wait on.
    R create --bundle "$B" v1 >"$WORK/v1.out" 2>&1; RC=$?
    check "v1: create with memory, pids, cpu, cpuset and device limits succeeds" [ "$RC" = 0 ]
    [ "$RC" = 0 ] || cat "$WORK/v1.out"
    PID=$(state_pid v1)
    check "v1: memory.limit_in_bytes" [ "$(cat $CG/memory/$TAG/v1/memory.limit_in_bytes 2>/dev/null)" = 67108864 ]
    check "v1: memory.swappiness" [ "$(cat $CG/memory/$TAG/v1/memory.swappiness 2>/dev/null)" = 10 ]
    check "v1: disableOOMKiller sets oom_kill_disable" grep -qx "oom_kill_disable 1" $CG/memory/$TAG/v1/memory.oom_control
    check "v1: pids.max" [ "$(cat $CG/pids/$TAG/v1/pids.max 2>/dev/null)" = 50 ]
    check "v1: cpu.cfs_quota_us and cpu.shares" \
        [ "$(cat $CG/cpu/$TAG/v1/cpu.cfs_quota_us $CG/cpu/$TAG/v1/cpu.shares 2>/dev/null | tr '\n' ' ')" = "50000 512 " ]
    check "v1: cpuset.cpus (new cpuset levels got their parent's mems)" \
        [ "$(cat $CG/cpuset/$TAG/v1/cpuset.cpus 2>/dev/null)" = 0 -a -n "$(cat $CG/cpuset/$TAG/cpuset.mems 2>/dev/null)" ]
    check "v1: the device list is deny-all plus the allowed devices" grep -qx "c 1:3 rwm" $CG/devices/$TAG/v1/devices.list
    check "v1: the process is in every hierarchy, name=systemd too" \
        grep -qx "$PID" $CG/systemd/$TAG/v1/cgroup.procs
    if [ -d $CG/unified ]; then
        check "hybrid: the process is in the unified hierarchy at the same path" grep -qx "$PID" $CG/unified/$TAG/v1/cgroup.procs
    fi
    R start v1
    for _ in $(seq 50); do [ "$(R state v1 | json_get '["status"]')" = stopped ] && break; sleep 0.1; done
    OUT=$(cat "$WORK/v1.out")
    check "v1: inside, the cgroup mount shows the container's limits" \
        [ "$(head -3 <<<"$OUT" | tr '\n' ' ')" = "67108864 50 512 " ]
    check "v1: inside, every hierarchy has the container's path" grep -qx "/$TAG/v1 " <<<"$OUT"
    check "linux.devices entries are allowed by the device cgroup implicitly" grep -qx mynull-ok <<<"$OUT"
    check "the default devices stay allowed" grep -qx null-ok <<<"$OUT"
    check "a read-only cgroup mount is read-only" grep -qx cgroup-ro <<<"$OUT"
    check "v1: delete succeeds" R delete v1
    GONE=yes
    for d in $CG/*/; do [ -e "$d$TAG/v1" ] && GONE="no: $d$TAG/v1"; done
    check "v1: delete removes the cgroup in every hierarchy" [ "$GONE" = yes ]

    # A limit is an error only when its controller is missing.
    if [ ! -d $CG/net_cls ] && [ ! -d $CG/net_cls,net_prio ]; then
        B=$(bundle netcls 'true' '{"linux": {"cgroupsPath": "/'"$TAG"'/nc", "resources": {"network": {"classID": 7}}}}')
        OUT=$(R run --bundle "$B" nc 2>&1); RC=$?
        check "a limit on a controller this host lacks fails the create" [ "$RC" != 0 ]
        check "... naming the controller" grep -q "no \`net_cls\` cgroup controller" <<<"$OUT"
        check "... and leaves no state" [ ! -e "$ROOT/nc" ]
    fi
    B=$(bundle nolimit 'echo ran' '{"linux": {"cgroupsPath": "/'"$TAG"'/nl", "resources": {"pids": {"limit": -1}, "memory": {"limit": -1}}}}')
    check "\"no limit\" values need nothing special" grep -qx ran <<<"$(R run --bundle "$B" nl 2>&1)"

    # systemd's slice:prefix:name, as an engine with a systemd manager passes it.
    B=$(bundle slice 'sleep 30' '{"linux": {"cgroupsPath": "'"$TAG"'.slice:berth:s1", "resources": {"pids": {"limit": 20}}}}')
    R run --detach --bundle "$B" s1 >/dev/null 2>&1
    check "slice:prefix:name is the systemd path as cgroupfs directories" \
        [ "$(cat $CG/pids/$TAG.slice/berth-s1.scope/pids.max 2>/dev/null)" = 20 ]
    check "kill --all and delete --force through the v1 hierarchies" R delete --force s1
    check "... which removes the scope" [ ! -e $CG/pids/$TAG.slice/berth-s1.scope ]

    B=$(bundle killall 'sleep 100 & sleep 100' '{"linux": {"cgroupsPath": "/'"$TAG"'/ka"}}')
    R run --detach --bundle "$B" ka >/dev/null 2>&1
    sleep 0.3
    check "both processes are listed in the container's cgroup" [ "$(wc -l <$CG/pids/$TAG/ka/cgroup.procs)" = 2 ]
    R kill --all ka KILL
    for _ in $(seq 50); do [ -z "$(cat $CG/pids/$TAG/ka/cgroup.procs)" ] && break; sleep 0.1; done
    check "kill --all reaches every process of the cgroup" [ -z "$(cat $CG/pids/$TAG/ka/cgroup.procs)" ]
    R delete ka >/dev/null 2>&1

    # pause and resume through the v1 freezer.
    B=$(bundle pause 'i=0; while :; do i=$((i+1)); echo $i >/tmp/tick.new; mv /tmp/tick.new /tmp/tick; sleep 0.05; done' '{"linux": {"cgroupsPath": "/'"$TAG"'/pz"}}')
    R run --detach --bundle "$B" pz >/dev/null 2>&1
    # The counter has ticked once before the pause (a loaded host may not have run it yet);
    # it is written by rename, so a freeze never finds it half written.
    PZ=$(R state pz | json_get '["pid"]')
    for _ in $(seq 100); do [ -s /proc/$PZ/root/tmp/tick ] && break; sleep 0.05; done
    check "pause" R pause pz
    check "paused: the state says so" [ "$(R state pz | json_get '["status"]')" = paused ]
    check "paused: the freezer cgroup is FROZEN" [ "$(cat $CG/freezer/$TAG/pz/freezer.state)" = FROZEN ]
    P1=$(cat /proc/$PZ/root/tmp/tick); sleep 0.3; P2=$(cat /proc/$PZ/root/tmp/tick)
    check "paused: the process does not run" [ -n "$P1" -a "$P1" = "$P2" ]
    T1=$(R exec pz cat /tmp/tick 2>/dev/null)
    check "exec into a paused container is refused" [ -z "$T1" ]
    OUT=$(R pause pz 2>&1)
    check "pause twice says why" grep -q "cannot pause container \`pz\`: it is paused, not running" <<<"$OUT"
    OUT=$(R delete pz 2>&1)
    check "delete of a paused container needs --force" grep -q "it is paused" <<<"$OUT"
    check "resume" R resume pz
    check "resumed: running again" [ "$(R state pz | json_get '["status"]')" = running ]
    A=$(R exec pz cat /tmp/tick); sleep 0.3; Z=$(R exec pz cat /tmp/tick)
    check "resumed: the process runs again" [ -n "$A" -a "$A" != "$Z" ]
    R pause pz
    check "delete --force of a paused container thaws and kills it" R delete --force pz
    check "... and leaves no freezer cgroup" [ ! -e $CG/freezer/$TAG/pz ]
else
    echo "skip - /sys/fs/cgroup is cgroup2: no v1 hierarchies on this host"
fi

# --- update and events on the host's cgroups -----------------------------------------------
# Where a controller's file for the container lives: the v1 hierarchy when the
# host has it, else the cgroup2 tree.
cg_file() { if [ -d "/sys/fs/cgroup/$1" ]; then echo "/sys/fs/cgroup/$1/$TAG/up/$2"; else echo "/sys/fs/cgroup/$TAG/up/$2"; fi; }
B=$(bundle up 'while :; do sleep 0.05; done' \
    '{"linux": {"cgroupsPath": "/'"$TAG"'/up", "resources": {"pids": {"limit": 40}, "memory": {"limit": 67108864}}}}')
R create --bundle "$B" up >"$WORK/up.out" 2>&1 && R start up
check "update: container with pids and memory limits runs" [ "$(R state up | json_get '["status"]')" = running ]
check "update: pids.max starts at 40" [ "$(cat "$(cg_file pids pids.max)" 2>/dev/null)" = 40 ]
OUT=$(R update --pids-limit 77 up 2>&1)
check "update --pids-limit succeeds" [ "$?" = 0 ]
[ -z "$OUT" ] || echo "$OUT"
check "update --pids-limit 77: pids.max in the container's cgroup is 77" [ "$(cat "$(cg_file pids pids.max)" 2>/dev/null)" = 77 ]
if [ -d /sys/fs/cgroup/memory ]; then
    check "update --memory 32m: memory.limit_in_bytes" R update --memory 32m up
    check "... is 33554432" [ "$(cat "$(cg_file memory memory.limit_in_bytes)")" = 33554432 ]
fi
echo '{"pids": {"limit": 55}}' >"$WORK/res.json"
check "update --resources FILE" R update --resources "$WORK/res.json" up
check "... sets pids.max to 55" [ "$(cat "$(cg_file pids pids.max)" 2>/dev/null)" = 55 ]
check "update --resources - (stdin)" R update -r - up <<<'{"pids": {"limit": 56}}'
check "... sets pids.max to 56" [ "$(cat "$(cg_file pids pids.max)" 2>/dev/null)" = 56 ]
check "update: the saved spec follows (exec sees it through the state)" \
    grep -q '"limit":56' "$ROOT/up/config.json"
OUT=$(R update --pids-limit many up 2>&1)
check "update --pids-limit many: refused" grep -q "not a number" <<<"$OUT"
OUT=$(R update up 2>&1)
check "update with nothing to change: refused" grep -q "nothing to change" <<<"$OUT"
OUT=$(R update --mem-bw-schema x up 2>&1)
check "update --mem-bw-schema: refused (intelRdt)" grep -q "intelRdt" <<<"$OUT"

EV=$(R events --stats up)
check "events --stats: one JSON object of type stats for the container" python3 -c '
import json, sys
e = json.loads(sys.argv[1])
assert e["type"] == "stats" and e["id"] == "up", e
d = e["data"]
assert d["pids"]["current"] >= 1 and d["pids"]["limit"] == 56, d["pids"]
assert d["memory"]["usage"]["usage"] > 0, d["memory"]
assert d["cpu"]["usage"]["total"] > 0, d["cpu"]' "$EV"
timeout 10 "$RUNC" --root "$ROOT" events --interval 200ms up >"$WORK/events" 2>&1 &
EVPID=$!
sleep 1.5
R kill up KILL
wait $EVPID; RC=$?
N=$(grep -c '"type":"stats"' "$WORK/events")
check "events --interval 200ms: a line per interval ($N), each valid JSON" \
    python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]; assert int(sys.argv[2]) >= 3' "$WORK/events" "$N"
check "events: the stream ends when the container's process exits" [ "$RC" = 0 ]
R delete --force up
OUT=$(R events --stats up 2>&1)
check "events of a deleted container: an error" grep -q "up" <<<"$OUT"

# --- conformance regressions (each failed before its fix) ---------------------------------
# start and delete use the config saved at create, not the bundle's current one.
cat >"$WORK/hook.sh" <<'H'
#!/bin/sh
cat >"$1"
H
chmod +x "$WORK/hook.sh"
B=$(bundle saved 'echo saved-ran' '{"hooks": {"poststop": [{"path": "'"$WORK"'/hook.sh", "args": ["hook.sh", "'"$WORK"'/poststop"]}]}}')
R create --bundle "$B" sv >"$WORK/sv.out" 2>&1
echo '{"ociVersion": "1.0.2"}' >"$B/config.json"
check "start after the bundle's config.json changed" R start sv
for _ in $(seq 50); do [ "$(R state sv | json_get '["status"]')" = stopped ] && break; sleep 0.1; done
rm -f "$B/config.json"
check "delete after the bundle's config.json is gone" R delete sv
check "delete ran the poststop hook saved at create" [ "$(json_get '["id"]' <"$WORK/poststop" 2>/dev/null)" = sv ]
check "the container ran the create-time process" grep -qx saved-ran "$WORK/sv.out"

# A user namespace mapping root to 1000: the process can open the exec fifo.
B=$(bundle userns 'echo uid=$(id -u) map=$(cat /proc/self/uid_map | tr -s " " | sed "s/^ //")' \
    '{"linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "ipc"}, {"type": "user"}],
                "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 65536}],
                "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 65536}]}}')
R create --bundle "$B" un >"$WORK/un.out" 2>&1; RC=$?
check "userns root->1000: create succeeds" [ "$RC" = 0 ]
R start un >/dev/null 2>&1
for _ in $(seq 50); do grep -q uid= "$WORK/un.out" && break; sleep 0.1; done
check "userns root->1000: the process ran after start" grep -qx "uid=0 map=0 1000 65536" "$WORK/un.out"
R delete --force un >/dev/null 2>&1

# A process that cannot reach the fifo (no /proc to reopen it through) fails
# create instead of leaving a dead `created` container.
B=$(bundle noproc 'true' '{"mounts": [{"destination": "/dev", "type": "tmpfs", "source": "tmpfs"}]}')
OUT=$(R create --bundle "$B" np 2>&1); RC=$?
check "create fails when the process cannot open the exec fifo" [ "$RC" != 0 ]
check "... saying why" grep -q "exec fifo: cannot open the exec fifo for writing .*is /proc mounted" <<<"$OUT"
check "... and leaves no container" [ ! -e "$ROOT/np" ]

# No mount namespace listed: the container inherits the runtime's.
echo here >"$WORK/host-file"
B=$(bundle nomnt "cat $WORK/host-file" '{"linux": {"namespaces": [{"type": "pid"}, {"type": "uts"}, {"type": "ipc"}]}}')
OUT=$(R run --bundle "$B" nm 2>&1); RC=$?
check "linux.namespaces without mount: runs in the inherited mount namespace" [ "$RC" = 0 -a "$OUT" = here ]

# hostname with the uts namespace joined by path: set there, as runc does.
B=$(bundle utsowner 'sleep 30')
R create --bundle "$B" uo >/dev/null 2>&1
OWNER=$(state_pid uo)
B=$(bundle utsjoin 'hostname' '{"hostname": "joined-name", "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts", "path": "/proc/'"$OWNER"'/ns/uts"}]}}')
OUT=$(R run --bundle "$B" uj 2>&1)
check "hostname is accepted and set in a uts namespace joined by path" [ "$OUT" = joined-name ]
check "... the namespace's owner sees it too" [ "$(nsenter -t "$OWNER" -u hostname)" = joined-name ]
R delete --force uo >/dev/null 2>&1

B=$(bundle unbindable 'awk '"'"'$5 == "/"'"'"' /proc/self/mountinfo' '{"linux": {"rootfsPropagation": "unbindable"}}')
OUT=$(R run --bundle "$B" ub 2>&1)
check "rootfsPropagation unbindable: the root is unbindable" grep -q " / .* unbindable - " <<<"$OUT"

B=$(bundle badversion 'true' '{"ociVersion": "invalid"}')
OUT=$(R create --bundle "$B" bv 2>&1); RC=$?
check "ociVersion \"invalid\" is refused" [ "$RC" != 0 ]
check "... naming the field" grep -q 'ociVersion: expected a version' <<<"$OUT"
B=$(bundle noexe 'true')
python3 - "$B/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["process"]["args"] = ["/bin/nosuch-program"]; json.dump(c, open(sys.argv[1], "w"))
PY
OUT=$(R create --bundle "$B" ne 2>&1); RC=$?
check "create fails when process.args[0] does not exist in the container" [ "$RC" != 0 ]
check "... saying so" grep -q "executable \`/bin/nosuch-program\` not found" <<<"$OUT"
check "... and leaves no container" [ ! -e "$ROOT/ne" ]

# --- podman on this host as it is -----------------------------------------------------------
# podman 4.3: --rootfs needs no image store; the ulimits because a sandbox may
# lack CAP_SYS_RESOURCE; the cgroupfs manager because berth-runc does not talk
# to systemd.
if command -v podman >/dev/null; then
    POPTS=(--label berth-test="$TAG" --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --rootfs "$WORK/rootfs")
    OUT=$(P run --rm "${POPTS[@]}" sh -c 'echo hi; echo podman-err >&2; exit 42' 2>&1); RC=$?
    check "podman run: output comes through" grep -qx hi <<<"$OUT"
    check "podman run: stderr comes through" grep -qx podman-err <<<"$OUT"
    check "podman run: the exit code comes through" [ "$RC" = 42 ]
    if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
        LIMITS='cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max'
    else
        LIMITS='cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max'
    fi
    OUT=$(P run --rm --memory 64m --pids-limit 50 "${POPTS[@]}" sh -c "$LIMITS" 2>&1)
    check "podman run --memory 64m --pids-limit 50: the limits are visible inside" \
        [ "$(tr '\n' ' ' <<<"$OUT")" = "67108864 50 " ]
    [ "$(tr '\n' ' ' <<<"$OUT")" = "67108864 50 " ] || echo "$OUT"

    CID=$(P run -d "${POPTS[@]}" sh -c 'trap "echo got-term; exit 0" TERM; while :; do sleep 0.1; done' 2>/dev/null)
    sleep 0.5
    check "podman run -d: running" [ "$(P inspect -f '{{.State.Status}}' "$CID")" = running ]
    check "podman exec: output" [ "$(P exec "$CID" sh -c 'echo in-$(hostname | cut -c1-4)')" = "in-$(cut -c1-4 <<<"$CID")" ]
    P exec "$CID" sh -c 'exit 5'
    check "podman exec: the exit code comes through" [ "$?" = 5 ]
    P exec "$CID" no-such-command >/dev/null 2>&1
    check "podman exec of a missing command: 127, as podman reads the runtime's message" [ "$?" = 127 ]
    START=$(date +%s)
    P stop -t 20 "$CID" >/dev/null 2>&1
    check "podman stop: TERM reaches the container, which exits at once" [ $(( $(date +%s) - START )) -lt 10 ]
    check "podman stop: exit code 0 from the TERM handler" [ "$(P inspect -f '{{.State.ExitCode}}' "$CID")" = 0 ]
    check "podman logs: the handler's output" grep -qx got-term <<<"$(P logs "$CID" 2>&1)"
    check "podman rm" quiet P rm "$CID"
    check "podman rm: the container is gone" [ -z "$(podman ps -aq --filter id="$CID")" ]
    GONE=yes
    for d in /sys/fs/cgroup/*/libpod_parent/libpod-"$CID" /sys/fs/cgroup/libpod_parent/libpod-"$CID"; do
        [ -e "$d" ] && GONE="no: $d"
    done
    check "podman rm: the container's cgroups are gone" [ "$GONE" = yes ]
    # A pid 1 without a TERM handler ignores TERM: podman escalates to KILL.
    CID=$(P run -d "${POPTS[@]}" sleep 1000 2>/dev/null)
    START=$(date +%s)
    P stop -t 1 "$CID" >/dev/null 2>&1
    check "podman stop -t 1: KILL after the timeout" \
        [ "$(P inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$CID")" = "exited 137" ]
    check "podman stop -t 1: within a few seconds" [ $(( $(date +%s) - START )) -lt 8 ]
    P rm -f "$CID" >/dev/null 2>&1
    check "no test container is left" [ -z "$(podman ps -aq --filter label=berth-test="$TAG")" ]

    # An image, as users run them: the busybox root imported into a private
    # image store (removed with the work directory).
    PI=(podman --root "$WORK/pstore" --runroot "$WORK/prun" --storage-driver vfs --runtime "$RUNC"
        --cgroup-manager cgroupfs)
    tar -C "$WORK/rootfs" -cf "$WORK/bb.tar" .
    timeout 120 "${PI[@]}" import "$WORK/bb.tar" localhost/berth-bb:1 >/dev/null 2>&1
    OUT=$(timeout 120 "${PI[@]}" run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
        localhost/berth-bb:1 echo hi 2>&1)
    check "podman run --rm IMAGE echo hi" [ "$OUT" = hi ]
    [ "$OUT" = hi ] || echo "$OUT"
    # podman writes a device's whole st_mode as its fileMode (020666 for /dev/fuse).
    OUT=$(timeout 120 "${PI[@]}" run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --device /dev/null:/dev/xnull \
        localhost/berth-bb:1 sh -c 'test -c /dev/xnull && echo device' 2>&1)
    check "podman run --device: the node is made" [ "$OUT" = device ]
    [ "$OUT" = device ] || echo "$OUT"
    # A network namespace of its own has its loopback up, as runc and crun leave it.
    OUT=$(timeout 120 "${PI[@]}" run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network none \
        localhost/berth-bb:1 sh -c 'cat /sys/class/net/lo/flags' 2>&1)
    check "podman run --network none: lo is up" [ $(( ${OUT:-0} & 1 )) = 1 ]
    [ $(( ${OUT:-0} & 1 )) = 1 ] || echo "$OUT"
    timeout 60 "${PI[@]}" rmi -a -f >/dev/null 2>&1
else
    echo "skip - podman is not installed"
fi

finish
