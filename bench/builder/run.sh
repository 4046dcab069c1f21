#!/usr/bin/env bash
# Builder figures for examples/redis.yml: build time cold (images made again from the
# cached .debs, empty store, no earlier output) and warm (everything in place), the
# initrd against the size of what it holds, and /init to Redis ready on a boot.
# usage: bench/builder/run.sh BUILD-DIR [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "$1" && pwd)
runs=${2:-3}
berth=$build/builder/berth
work=$build/bench-builder
mkdir -p "$work"
export BERTH=$berth

now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

build_redis() {
    "$berth" build -o "$work/out" --images "$work/images" --store "$work/store" "$root/examples/redis.yml" \
        >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; return 1; }
}
# Cold: the images (and the kernel image) are made again (from the cached .debs; the first run of all
# fills that cache and is not counted), the store starts empty, no output exists.
cold_once() {
    rm -rf "$work/images" "$work/store" "$work/oci" "$work/out"
    local t0; t0=$(now_ms)
    "$root/examples/images/make-busybox-image" "$work/images/busybox" >/dev/null
    "$berth" kernel import --layout "$work/images/debian-kernel" linux-image-cloud-amd64 \
        --tag debian-kernel:cloud >/dev/null 2>&1
    "$root/examples/images/make-disk-image" "$work/images/disk" >/dev/null
    "$root/examples/images/make-redis-image" --import redis:7 --store "$work/store" "$work/oci" >/dev/null
    local t1; t1=$(now_ms)
    build_redis
    local t2; t2=$(now_ms)
    echo "$((t1 - t0)) $((t2 - t1))"
}
cold_once >/dev/null  # fills the .deb cache

: > "$work/images.ms"; : > "$work/cold.ms"; : > "$work/warm.ms"; : > "$work/ready.ms"; : > "$work/boot.ms"
for i in $(seq 1 "$runs"); do
    read -r img bld < <(cold_once)
    echo "$img" >> "$work/images.ms"
    echo "$bld" >> "$work/cold.ms"
done
for i in $(seq 1 "$runs"); do
    t0=$(now_ms); build_redis; echo $(($(now_ms) - t0)) >> "$work/warm.ms"
done

# The initrd: compressed, as a cpio, and the bytes of the files it holds.
initrd=$work/out/redis-initrd.img
gz=$(stat -c %s "$initrd")
rm -rf "$work/tree" && mkdir -p "$work/tree"
cpio_bytes=$( (zcat "$initrd" 2>/dev/null || zstdcat "$initrd") | tee >(cd "$work/tree" && cpio -id --quiet) | wc -c)
sleep 1
content=$(find "$work/tree" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
files=$(find "$work/tree" -type f | wc -l)

# /init to Redis ready: PID 1 logs "services redis: ready after N ms" (Redis tells it
# with sd_notify, readiness type systemd), stamped with its time since /init started.
boot_ready() {
    local log=$work/boot.console pid t=0
    rm -f "$work/disk.img"
    timeout 300 "$berth" run qemu --timeout 290 --disk "$work/disk.img,size=256M" "$work/out/redis" \
        </dev/null >"$log" 2>&1 &
    pid=$!
    while [ $t -lt 2400 ] && ! grep -q 'services redis: ready after' "$log"; do
        sleep 0.1; t=$((t + 1))
    done
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
    tr -d '\r' < "$log" | sed -n 's/^\[ *\([0-9]*\) ms\] berth: services redis: ready after.*/\1/p' | head -n1
    tr -d '\r' < "$log" | sed -n 's/.*booting .* with \([a-z]*\)$/\1/p' | head -n1 > "$work/accel"
}
for i in $(seq 1 "$runs"); do boot_ready >> "$work/ready.ms"; done

im=$(median < "$work/images.ms"); c=$(median < "$work/cold.ms"); w=$(median < "$work/warm.ms")
r=$(median < "$work/ready.ms")
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

echo
echo "Builder figures, examples/redis.yml ($runs runs each, medians; QEMU accel: $(cat "$work/accel"))"
printf '| %-52s | %14s | %-28s |\n' "measure" "value" "against"
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..54})" "$(printf -- '-%.0s' {1..16})" "$(printf -- '-%.0s' {1..30})"
printf '| %-52s | %11s ms | %-28s |\n' "images from cached .debs (busybox, disk, redis:7)" "$im" "-"
printf '| %-52s | %11s ms | %-28s |\n' "berth build, cold (fresh images and store, no output)" "$c" "warm: $(ratio "$c" "$w")x"
printf '| %-52s | %11s ms | %-28s |\n' "berth build, warm" "$w" "-"
printf '| %-52s | %14s | %-28s |\n' "initrd, gzip" "$(mib "$gz")" "contents: $(ratio "$gz" "$content")x"
printf '| %-52s | %14s | %-28s |\n' "initrd as cpio (uncompressed)" "$(mib "$cpio_bytes")" "contents: $(ratio "$cpio_bytes" "$content")x"
printf '| %-52s | %14s | %-28s |\n' "contents: bytes of its $files files" "$(mib "$content")" "-"
printf '| %-52s | %11s ms | %-28s |\n' "/init to Redis ready (sd_notify), blank disk" "$r" "-"
