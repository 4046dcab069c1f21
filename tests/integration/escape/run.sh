#!/bin/bash
# Escape attempts from a container made with berth's secure defaults (the
# capability set, seccomp profile, masked and read-only paths shipped in
# config/defaults, and the mounts the image builder writes into every
# config.json). A static probe inside tries each way out and prints what the
# kernel answered; every attempt must be refused. A privileged control run
# shows the probe does notice an attempt that succeeds, and where crun is
# installed the same bundle must give the same verdicts under crun.
# Needs root. Usage: run.sh LAUNCH_TEST_BINARY ESCAPE_PROBE DEFAULTS_DIR
set -u
LAUNCH=$(realpath "${1:?usage: run.sh LAUNCH_TEST ESCAPE_PROBE DEFAULTS_DIR}")
PROBE=$(realpath "${2:?}")
DEFAULTS=$(realpath "${3:?}")
. "$(dirname "$0")/../../lib/check.sh"

run_in_private_mount_ns "$0" "$@"
mount_cgroup2
# berth limits processes through cgroup v2 only; on a hybrid host whose pids
# controller is bound to v1 the fork bomb cannot be held, and that is said.
FORK_BOMB=yes
if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ] || ! grep -qw pids /sys/fs/cgroup/cgroup.controllers; then
    FORK_BOMB=
    skip "fork bomb: the pids controller is not available on cgroup v2 here (v1 is not supported)"
fi

WORK=$(mktemp -d /tmp/berth-escape-XXXXXX)
chmod 755 "$WORK"
CG=/sys/fs/cgroup/berth-escape-$$
sleep 600 &
OUTSIDE_PID=$!
cleanup() {
    kill "$OUTSIDE_PID" 2>/dev/null
    for d in "$CG" "$CG-ctl"; do [ -d "$d" ] && { cat "$d/cgroup.procs" | xargs -r kill -9; rmdir "$d"; } 2>/dev/null; done
    crun --root "$WORK/crun-state" delete -f berth-escape >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT

make_busybox_rootfs "$WORK/rootfs" || exit 1
cp "$PROBE" "$WORK/rootfs/bin/escape-probe"
install -o root -g root -m 4755 "$PROBE" "$WORK/rootfs/bin/escape-probe-suid"
echo 'nobody:x:1000:1000::/:/bin/sh' >>"$WORK/rootfs/etc/passwd"
MARKER=$WORK/host-only-marker
touch "$MARKER"

# bundle NAME MODE ARGS...: MODE "defaults" uses config/defaults as the builder
# does; "privileged" has every capability and no seccomp, masks or nnp.
bundle() {
    local name=$1 mode=$2; shift 2
    mkdir -p "$WORK/$name"
    python3 - "$WORK/$name/config.json" "$WORK/rootfs" "$DEFAULTS" "$mode" "$@" <<'PY'
import json, sys
path, rootfs, defaults, mode, *args = sys.argv[1:]
sec = json.load(open(defaults + "/security.json"))
seccomp = json.load(open(defaults + "/seccomp.json"))
def m(dest, typ, src, opts):
    return {"destination": dest, "type": typ, "source": src, "options": opts}
# The mounts the image builder writes (builder/oci_config_gen.cpp) for a container
# without CAP_SYS_ADMIN, plus a /tmp tmpfs.
mounts = [m("/proc", "proc", "proc", ["nosuid", "nodev", "noexec", "relatime"]),
          m("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
          m("/dev/pts", "devpts", "devpts", ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]),
          m("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]),
          m("/sys/fs/cgroup", "cgroup2", "cgroup", ["ro", "nosuid", "noexec", "nodev"]),
          m("/tmp", "tmpfs", "tmpfs", ["nosuid", "nodev", "mode=1777"])]
# podman's default capabilities and descriptor limit: a container as podman runs it.
caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID",
        "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL"]
rlimits = [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]
process = {"args": ["/bin/escape-probe"] + args, "cwd": "/", "env": ["PATH=/bin"],
           "user": {"uid": 0, "gid": 0}, "noNewPrivileges": True,
           "rlimits": rlimits,
           "capabilities": {"bounding": caps, "effective": caps, "permitted": caps}}
linux = {"namespaces": [{"type": t} for t in ("pid", "mount", "uts", "ipc", "network")],
         "maskedPaths": sec["maskedPaths"], "readonlyPaths": sec["readonlyPaths"],
         "seccomp": seccomp}
# A trailing "fork-bomb" from the caller: run it, held by pids.max; else tell the probe to skip it.
if "fork-bomb" in args:
    process["args"].remove("fork-bomb")
    linux["resources"] = {"pids": {"limit": 64}}
else:
    process["args"].append("no-fork-bomb")
if mode == "privileged":
    everything = ["CAP_" + n for n in (
        "CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE "
        "NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO "
        "SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME "
        "SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG "
        "WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE").split()]
    # Capability numbers follow the list; keep those this host can grant.
    bnd = int(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("CapBnd:")), 16)
    everything = [c for i, c in enumerate(everything) if bnd >> i & 1]
    process["capabilities"] = {k: everything for k in ("bounding", "effective", "permitted")}
    process["noNewPrivileges"] = False
    for k in ("seccomp", "maskedPaths", "readonlyPaths"):
        del linux[k]
    mounts[3]["options"].remove("ro")
c = {"ociVersion": "1.0.2", "root": {"path": rootfs, "readonly": True}, "hostname": "escape",
     "mounts": mounts, "process": process, "linux": linux}
json.dump(c, open(path, "w"), indent=1)
PY
    echo "$WORK/$name"
}

# --- the secure defaults: every attempt refused ---------------------------------
B=$(bundle defaults defaults all "$MARKER" "$OUTSIDE_PID" ${FORK_BOMB:+fork-bomb})
OUT=$(timeout 120 "$LAUNCH" --cgroup "$CG" "$B" 2>&1 </dev/null)
echo "$OUT" | grep -E '^(escape |[0-9]+ tried)'
TRIED=$(sed -nE 's/^([0-9]+) tried, ([0-9]+) blocked$/\1/p' <<<"$OUT")
BLOCKED=$(sed -nE 's/^([0-9]+) tried, ([0-9]+) blocked$/\2/p' <<<"$OUT")
check "the probe ran to the end (N tried, N blocked printed)" [ -n "$TRIED" ]
all_blocked() { [ -n "$TRIED" ] && [ "$TRIED" = "$BLOCKED" ]; }
check "every escape attempt is blocked (${BLOCKED:-?} of ${TRIED:-?})" all_blocked
# "absent" only counts when the host kernel lacks the file as well.
for f in /proc/kcore /proc/sysrq-trigger; do
    a=$(basename "$f")
    if [ -e "$f" ]; then
        check "$f exists here, so it was reached and refused, not absent" \
            eval '! grep -Eq "^escape [a-z-]*${a#sysrq-} .*absent" <<<"$OUT"'
    fi
done
for a in mount umount pivot_root chroot-escape finit_module init_module reboot write-proc-sys write-sys \
         read-kcore ptrace-outside open_by_handle_at raw-socket keyctl bpf unshare-user setuid-escalation \
         mknod-block ${FORK_BOMB:+fork-bomb}; do
    check "escape attempt $a blocked" grep -Eq "^escape $a +blocked " <<<"$OUT"
done
check "the container exited cleanly" grep -qx 'exit status 0' <<<"$OUT"
[ -z "$FORK_BOMB" ] || check "pids.max of the container's cgroup is what held the fork bomb" grep -Eq '^escape fork-bomb +blocked .* after (6[0-3]|[1-5][0-9]) processes' <<<"$OUT"

# --- controls: the probe sees an escape when the defaults are off ------------------
B=$(bundle privileged privileged all "$MARKER" "$OUTSIDE_PID" ${FORK_BOMB:+fork-bomb})
OUT=$(timeout 120 "$LAUNCH" --cgroup "$CG-ctl" "$B" 2>&1 </dev/null)
echo "$OUT" | grep -E "^(escape |[0-9]+ tried|launch error)" | sed "s/^/control: /"
NOT=$(grep -c 'NOT BLOCKED' <<<"$OUT")
check "control: a privileged container escapes at least 8 ways (saw $NOT) and the probe says so" [ "$NOT" -ge 8 ]
check "control: the probe exits non-zero when an attempt succeeds" grep -qx 'exit status 1' <<<"$OUT"
python3 - "$WORK/defaults/config.json" "$WORK/suid-control/config.json" <<'PY'
import json, os, sys
c = json.load(open(sys.argv[1]))
c["process"]["args"] = ["/bin/escape-probe", "suid-try"]
c["process"]["noNewPrivileges"] = False
os.makedirs(os.path.dirname(sys.argv[2]), exist_ok=True)
json.dump(c, open(sys.argv[2], "w"))
PY
OUT=$(timeout 60 "$LAUNCH" "$WORK/suid-control" 2>&1 </dev/null)
check "control: without no_new_privs the setuid-root copy does run as root" grep -q '^suid setuid-root binary ran with euid 0' <<<"$OUT"

# --- the same bundle under crun: the same verdicts -----------------------------------
if command -v crun >/dev/null; then
    python3 - "$WORK/defaults/config.json" "$CG-crun" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["linux"]["cgroupsPath"] = sys.argv[2].replace("/sys/fs/cgroup", "")
json.dump(c, open(sys.argv[1], "w"))
PY
    CRUN_OUT=$(cd "$WORK/defaults" && timeout 120 crun --root "$WORK/crun-state" run berth-escape 2>&1 </dev/null)
    if grep -q ' tried, ' <<<"$CRUN_OUT"; then
        verdicts() { sed -nE 's/^escape ([a-z_-]+) +(blocked|NOT BLOCKED) .*/\1 \2/p'; }
        A=$(verdicts <<<"$CRUN_OUT"); Bv=$(verdicts <<<"$(timeout 120 "$LAUNCH" --cgroup "$CG" "$WORK/defaults" 2>&1 </dev/null)")
        check "crun gives the same verdict for every attempt" [ "$A" = "$Bv" ]
        [ "$A" = "$Bv" ] || diff <(echo "$A") <(echo "$Bv")
    else
        skip "crun could not run the bundle here: $CRUN_OUT"
    fi
fi
# The outside process was ours to stop: stopped before finish looks for leftovers.
kill "$OUTSIDE_PID" 2>/dev/null; wait "$OUTSIDE_PID" 2>/dev/null
finish
