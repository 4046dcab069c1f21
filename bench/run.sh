#!/usr/bin/env bash
# Boot figures, side by side in one run: berth's /init-to-boot-complete against a
# busybox-shell floor doing the same work, PID 1 RSS, and the static binary size.
# usage: bench/run.sh BUILD-DIR [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
runs=${2:-3}
berth=$build/builder/berth
work=$build/bench
mkdir -p "$work"
images=$build/test-images

"$berth" build -o "$work" --name boot --images "$images" "$here/images/boot.yml" >/dev/null

# The floor: the same initrd, /init replaced by the shell script, no containers.
rm -rf "$work/floor-root" && mkdir -p "$work/floor-root/bin"
(cd "$work/floor-root" && zcat "$work/boot-initrd.img" | cpio -id --quiet)
rm -rf "$work/floor-root/containers"
mkdir -p "$work/floor-root/etc/web" && echo '<h1>Hello from the floor</h1>' > "$work/floor-root/etc/web/index.html"
cp "$(command -v busybox)" "$work/floor-root/bin/busybox"
mkdir -p "$work/floor-root/usr/share/udhcpc"
cp "$images/busybox/usr/share/udhcpc/default.script" "$work/floor-root/usr/share/udhcpc/"
cp "$here/floor-init.sh" "$work/floor-root/init"
(cd "$work/floor-root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9) > "$work/floor-initrd.img"
cp "$work/boot-kernel" "$work/floor-kernel"
cp "$work/boot-cmdline" "$work/floor-cmdline"

boot_once() {  # PREFIX -> console text
    timeout 180 "$berth" run qemu --timeout 170 "$1" </dev/null 2>&1 | tr -d '\r'
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else print a[int((NR+1)/2)]}'; }

: > "$work/berth.ms"; : > "$work/floor.ms"; : > "$work/rss.kb"; : > "$work/floor-rss.kb"
for i in $(seq 1 "$runs"); do
    out=$(boot_once "$work/boot")
    echo "$out" | sed -n 's/.*boot complete in \([0-9]*\) ms.*/\1/p' | head -n1 >> "$work/berth.ms"
    echo "$out" | sed -n 's/.*bench: pid1 VmRSS:[[:space:]]*\([0-9]*\) kB.*/\1/p' | head -n1 >> "$work/rss.kb"
    out=$(boot_once "$work/floor")
    echo "$out" | sed -n 's/.*floor: boot complete in \([0-9]*\) ms.*/\1/p' | head -n1 >> "$work/floor.ms"
    echo "$out" | sed -n 's/.*floor: pid1 VmRSS:[[:space:]]*\([0-9]*\) kB.*/\1/p' | head -n1 >> "$work/floor-rss.kb"
done
b=$(median < "$work/berth.ms"); f=$(median < "$work/floor.ms")
rss=$(median < "$work/rss.kb"); frss=$(median < "$work/floor-rss.kb")
size=$(stat -c %s "$build/init/berth-init.stripped")
accel=$(boot_once "$work/floor" | sed -n 's/.*booting .* with \([a-z]*\)$/\1/p' | head -n1)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

echo
echo "Boot figures ($runs runs each, medians; QEMU accel: $accel)"
printf '| %-44s | %12s | %12s | %8s | %-8s |\n' "measure" "berth" "floor" "ratio" "target"
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..10})"
printf '| %-44s | %9s ms | %9s ms | %8s | %-8s |\n' "/init to boot complete (onboot DHCP + httpd)" "$b" "$f" "$(ratio "$b" "$f")" "<= 1.5"
printf '| %-44s | %9s kB | %9s kB | %8s | %-8s |\n' "PID 1 resident memory after boot" "$rss" "$frss" "$(ratio "$rss" "$frss")" "<= 2 MB"
printf '| %-44s | %12s | %12s | %8s | %-8s |\n' "static PID 1, stripped (bytes)" "$size" "$(stat -c %s "$(command -v busybox)")" "$(ratio "$size" "$(stat -c %s "$(command -v busybox)")")" "<= 1.5 MB"

# amd64 and arm64 side by side (needs the arm64 cross build: make arm64).
if [ -x "${ARM64_BUILD:-$build-arm64}/init/berth-init" ]; then
    "$here/arch/run.sh" "$build" "$runs"
else
    echo "(arm64 figures skipped: no ${ARM64_BUILD:-$build-arm64}/init/berth-init; run make arm64)"
fi

# Builder figures: examples/redis.yml build times, initrd size, /init to Redis ready.
bash "$here/builder/run.sh" "$build" "$runs" || echo "(builder figures failed)"

# The initramfs hand-over, in place against the former copy (web and the Redis OS, with the
# images the builder figures just made).
IMAGES=$build/bench-builder/images STORE=$build/bench-builder/store \
    bash "$here/handover/run.sh" "$build" "$runs" || echo "(hand-over figures failed)"

# Supervisor figures: PID 1 in namespaces (needs root; skipped otherwise).
bash "$here/supervisor/run.sh" "$build/init/berth-init" || echo "(supervisor figures failed)"

# Runtime figures: berth-runc, crun and runc side by side on the same bundle (needs root).
bash "$here/runtime/run.sh" "$build" "$(( runs > 10 ? runs : 10 ))" || echo "(runtime figures failed)"
