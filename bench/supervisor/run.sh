#!/usr/bin/env bash
# Supervisor figures with the real static PID 1 in namespaces (no VM): PID 1
# resident memory with 50 services, `berth ps` latency with 200 services, time
# until 1,000 orphans that exit at the same moment (a FIFO closed) are all reaped, and restart latency
# with restartDelay 0. The peer in the same run is busybox's init-less floor:
# a busybox shell doing the same fork/wait work, for the reaping ratio.
# usage: bench/supervisor/run.sh PATH-TO-berth-init
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../tests/lib/check.sh"
init_bin=$(readlink -f "$1")
[ "$(id -u)" = 0 ] || { echo "bench/supervisor: needs root, skipped"; exit 0; }
work=$(mktemp -d /var/tmp/berth-bench-sup.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{proc,sys,dev,run,tmp,var,containers/services}
cp "$init_bin" "$root/init"
make_busybox_rootfs "$root"
make_busybox_rootfs "$root/shared-rootfs"   # one image for every service

svc() {  # NAME NS SCRIPT POLICY
    local dir=$root/containers/services/$1 esc=${3//\\/\\\\}
    esc=${esc//\"/\\\"}; esc=${esc//$'\n'/\\n}
    mkdir -p "$dir"
    cat > "$dir/config.json" <<JSON
{"ociVersion": "1.0.2", "root": {"path": "/shared-rootfs", "readonly": true},
 "process": {"args": ["/bin/sh", "-c", "$esc"], "env": ["PATH=/run/berth/bin:/bin"], "cwd": "/",
   "user": {"uid": 0, "gid": 0},
   "capabilities": {"bounding": ["CAP_KILL","CAP_SYS_PTRACE","CAP_DAC_OVERRIDE"], "effective": ["CAP_KILL","CAP_SYS_PTRACE","CAP_DAC_OVERRIDE"], "permitted": ["CAP_KILL","CAP_SYS_PTRACE","CAP_DAC_OVERRIDE"]}},
 "mounts": [], "linux": {"namespaces": [$2]}}
JSON
    echo "{\"berth\": $4}" > "$dir/runtime.json"
}
run_pid1() {  # -> console in $work/console.log
    timeout -k 5 150 unshare --pid --mount --uts --ipc --net --fork --propagation private \
      sh -c "mount --bind '$root' '$root' && cd '$root' && mkdir -p old && pivot_root . old &&
             exec /bin/busybox sh -c 'cd / && umount -l /old && exec /init'" > "$work/console.log" 2>&1 || true
}
host='{"type":"mount","path":"/proc/1/ns/mnt"}'
own='{"type":"pid"},{"type":"mount"}'

# Run 1: 50 idle services, then RSS; restart latency of a service crashing with delay 0.
rm -rf "$root/containers/services"/*
for i in $(seq 1 49); do svc "idle$i" "$own" "exec sleep 1000" '{"log": {"console": false}}'; done
svc bounce "$own" "sleep 0.05; exit 1" '{"restartDelay": 0, "giveUp": {"failures": 21}, "log": {"console": false}}'
svc driver "$host" 'sleep 4; kb() { grep "^$1:" /proc/1/status | tr -s " " | cut -d" " -f2; }; echo "bench: rss=$(kb VmRSS) anon=$(kb RssAnon) file=$(kb RssFile)"; berth poweroff; sleep 100' '{"restart": "no"}'
run_pid1
rss50=$(sed -n 's/.*bench: rss=\([0-9]*\).*/\1/p' "$work/console.log" | head -1)
anon50=$(sed -n 's/.*bench: rss=.* anon=\([0-9]*\).*/\1/p' "$work/console.log" | head -1)
file50=$(sed -n 's/.*bench: rss=.* file=\([0-9]*\).*/\1/p' "$work/console.log" | head -1)
restart_ms=$(grep -E 'services bounce: (exit status|started)' "$work/console.log" | sed -E 's/^\[ *([0-9]+) ms\] berth: (warning: )?services bounce: (exit|started).*/\1 \3/' |
  awk '$2=="exit"{t=$1} $2=="started" && t!=""{print $1-t; t=""}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')

# Run 2: 200 services, `berth ps` latency; 1,000 simultaneous orphan exits.
rm -rf "$root/containers/services"/*
for i in $(seq 1 199); do svc "s$i" "$own" "exec sleep 1000" '{"log": {"console": false}}'; done
svc driver "$host" '
ms() { awk "{print int(\$1 * 1000)}" /proc/uptime; }   # busybox date has no %N
sleep 8
for i in 1 2 3 4 5 6 7 8 9 10 11; do t0=$(ms); berth ps >/dev/null; t1=$(ms); echo "bench: ps-ms=$(( t1 - t0 ))"; done
# 1,000 orphans blocked on a FIFO; closing its only writer ends them all at once.
mkfifo /tmp/exit-gate
for i in $(seq 1 1000); do (dd if=/tmp/exit-gate of=/dev/null 2>/dev/null &); done
sleep 2
exec 3>/tmp/exit-gate; t0=$(ms); exec 3>&-
while [ "$(cat /proc/[0-9]*/stat 2>/dev/null | awk "\$3==\"Z\" || \$2==\"(dd)\"" | wc -l)" -gt 0 ]; do :; done
t1=$(ms); echo "bench: reap-ms=$(( t1 - t0 ))"
berth poweroff; sleep 100' '{"restart": "no", "log": {"console": true}}'
run_pid1
ps_ms=$(sed -n 's/.*bench: ps-ms=\([0-9]*\).*/\1/p' "$work/console.log" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
reap_ms=$(sed -n 's/.*bench: reap-ms=\([0-9-]*\).*/\1/p' "$work/console.log" | head -1)

# Peer: a busybox shell as PID 1 of a pid namespace, same 1,000 orphans, same gate, same polling.
cat > "$work/peer.sh" <<'PEER'
mount -t proc proc /proc
ms() { awk "{print int(\$1 * 1000)}" /proc/uptime; }
gate=$(mktemp -u /tmp/berth-gate.XXXXXX); mkfifo "$gate"
for i in $(seq 1 1000); do (dd if="$gate" of=/dev/null 2>/dev/null &); done
sleep 2
exec 3>"$gate"; t0=$(ms); exec 3>&-
n=0
while [ "$(cat /proc/[0-9]*/stat 2>/dev/null | awk '$3=="Z" || $2=="(dd)"' | wc -l)" -gt 0 ] && [ $n -lt 3000 ]; do wait; n=$((n + 1)); done
t1=$(ms); rm -f "$gate"; [ $n -lt 3000 ] && echo "$(( t1 - t0 )) ms" || echo "zombies left after $(( t1 - t0 )) ms"
PEER
peer_ms=$(timeout 120 unshare --pid --mount --fork --propagation private busybox sh "$work/peer.sh" 2>/dev/null) || peer_ms=${peer_ms:-n/a}

echo
echo "Supervisor figures (namespaces, no VM)"
printf '  %-52s %s\n' "PID 1 VmRSS with 50 services" "${rss50:-n/a} kB (target <= 2048; dinit 1.6 MB with 2)"
printf '  %-52s %s\n' "  of which heap, stack, data (RssAnon)" "${anon50:-n/a} kB"
printf '  %-52s %s\n' "  of which the binary's mapped pages (RssFile)" "${file50:-n/a} kB"
printf '  %-52s %s\n' "berth ps with 200 services (median of 11)" "${ps_ms:-n/a} ms (10 ms resolution, process start included)"
printf '  %-52s %s\n' "1,000 simultaneous orphan exits, all gone after" "${reap_ms:-n/a} ms (busybox sh as pid 1 reaping with wait: ${peer_ms})"
printf '  %-52s %s\n' "restart latency, restartDelay 0 (exit to started)" "${restart_ms:-n/a} ms"
