#!/usr/bin/env bash
# OCI runtime figures, side by side in one run: berth-runc, crun and runc on
# two bundles (busybox rootfs, berth's secure defaults: default capabilities,
# masked and read-only paths), one without seccomp (`plain`) and one with
# berth's default seccomp profile (`seccomp`).
#   run           `R run` of /bin/true, wall time
#   c+s+d         `R create` + `R start` + `R delete --force`
#   peak memory   largest resident set of the runtime's process tree (wait4 rusage,
#                 what /usr/bin/time -v reports)
#   first insn    from deciding to start to the container's first instruction
#                 (a static probe prints CLOCK_MONOTONIC from main); for berth
#                 also through the launcher PID 1 uses, without the CLI
# Runs are interleaved (berth, crun, runc, berth, ...) so machine noise hits all.
# The state roots are on a tmpfs, as engines keep them (/run): a disk file
# system would add its own costs (journal, discard) to every create and delete.
# BENCH_EXTRA="name=PATH ..." adds runtimes (another berth-runc build, say).
# BENCH_LAUNCHER_ONLY=1 measures only the launcher PID 1 uses: the seccomp
# profile compiled in the launch, reused, or precompiled in the bundle.
# With hyperfine installed, BENCH_HYPERFINE=1 adds its figures for `run`.
# usage: bench/runtime/run.sh BUILD-DIR [RUNS]   (root)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: run.sh BUILD-DIR [RUNS]}" && pwd)
runs=${2:-30}
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
if ! command -v crun >/dev/null || ! command -v runc >/dev/null; then
    "$here/../../tools/install-deps"
fi
# Own mount namespace with cgroup2 on /sys/fs/cgroup, as all three want it.
if [ -z "${BERTH_BENCH_UNSHARED:-}" ]; then
    exec env BERTH_BENCH_UNSHARED=1 unshare --mount --propagation private bash "$0" "$@"
fi
[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || mount -t cgroup2 none /sys/fs/cgroup

work=$(mktemp -d /tmp/berth-bench-rt-XXXXXX)
chmod 755 "$work"
trap 'umount "$work/state" 2>/dev/null; rm -rf "$work"' EXIT
mkdir "$work/state"
mount -t tmpfs -o mode=0700 tmpfs "$work/state"
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,etc,proc,sys,dev,tmp}
cp "$(command -v busybox)" "$rootfs/bin/busybox"
ln -s busybox "$rootfs/bin/true"
ln -s busybox "$rootfs/bin/sh"
cp "$build/runtime/first-instruction-probe" "$rootfs/bin/first-instruction"
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
echo 'root:x:0:' >"$rootfs/etc/group"

# No linux.resources.devices: crun 1.8 loads its BPF device program only for
# it, and first raises RLIMIT_MEMLOCK to unlimited, which fails (EPERM) where
# CAP_SYS_RESOURCE is not in the bounding set. berth does not enforce the list
# yet either, so leaving it out keeps the three doing the same work.
python3 - "$work" "$here/../../config/defaults" <<'PY'
import json, os, sys
work, defaults = sys.argv[1:]
sec = json.load(open(defaults + "/security.json"))
seccomp = json.load(open(defaults + "/seccomp.json"))
# podman's default capabilities and descriptor limit: a container as podman runs it.
caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID",
        "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL"]
rlimits = [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]
def m(dest, typ, src, opts):
    return {"destination": dest, "type": typ, "source": src, "options": opts}
c = {"ociVersion": "1.0.2", "root": {"path": os.path.join(work, "rootfs"), "readonly": True}, "hostname": "bench",
     "mounts": [m("/proc", "proc", "proc", ["nosuid", "nodev", "noexec"]),
                m("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
                m("/dev/pts", "devpts", "devpts", ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]),
                m("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]),
                m("/tmp", "tmpfs", "tmpfs", ["nosuid", "nodev", "mode=1777"])],
     "process": {"args": ["/bin/true"], "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0},
                 "noNewPrivileges": True, "rlimits": rlimits,
                 "capabilities": {k: caps for k in ("bounding", "effective", "permitted")}},
     "linux": {"namespaces": [{"type": t} for t in ("pid", "mount", "uts", "ipc", "network")],
               "maskedPaths": sec["maskedPaths"], "readonlyPaths": sec["readonlyPaths"],
               "seccomp": seccomp}}
# `seccomp`: the default profile; `plain`: the same without it.
for name in ("seccomp", "plain"):
    os.makedirs(os.path.join(work, name))
    json.dump(c, open(os.path.join(work, name, "config.json"), "w"), indent=1)
    c["linux"].pop("seccomp", None)
PY

# shellcheck disable=SC2086  # BENCH_EXTRA is a list of name=path words
python3 "$here/measure.py" "$work" "$runs" \
    "berth=$build/runtime-cli/berth-runc" "crun=$(command -v crun)" "runc=$(command -v runc)" ${BENCH_EXTRA:-} \
    "launcher=$build/runtime/berth-launch-test" "seccomp-compile=$build/runtime/berth-seccomp-compile"

if [ -n "${BENCH_HYPERFINE:-}" ] && command -v hyperfine >/dev/null; then
    for b in plain seccomp; do
        echo "hyperfine, run of /bin/true, bundle $b:"
        args=()
        for rt in "berth=$build/runtime-cli/berth-runc" "crun=$(command -v crun)" "runc=$(command -v runc)" ${BENCH_EXTRA:-}; do
            args+=(-n "${rt%%=*}" "${rt#*=} --root $work/state/hf-${rt%%=*} run --bundle $work/$b hf")
        done
        hyperfine -N -w 3 -r "$runs" --style basic "${args[@]}" 2>&1 | grep -E '^Benchmark|Time|±'
    done
fi
