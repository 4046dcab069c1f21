#!/usr/bin/env bash
# The initramfs hand-over, before and after, in one run: each example is booted
# with PID 1's default (the initramfs bound onto / in place) and with
# BERTH_HANDOVER=copy (every file copied into a tmpfs, the former default). From
# PID 1's own log: when the root was ready and when the boot completed; from the
# guest: the machine's memory in use after boot. Medians of RUNS boots (TCG
# unless KVM is usable).
# usage: bench/handover/run.sh BUILD-DIR [RUNS] [EXAMPLE.yml...]
# The images come from BUILD-DIR/test-images and BUILD-DIR/store (make redis-images),
# or from $IMAGES and $STORE.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "$1" && pwd)
runs=${2:-3}
shift $(( $# >= 2 ? 2 : $# ))
examples=("$@")
[ ${#examples[@]} -gt 0 ] || examples=("$root/examples/web.yml" "$root/examples/redis.yml")
berth=$build/builder/berth
work=$build/bench-handover
images=${IMAGES:-$build/test-images}
store_dir=${STORE:-$build/store}
mkdir -p "$work"

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else print a[int((NR+1)/2)]}'; }
boot_once() {  # PREFIX [QEMU-OPTIONS] -> console text
    timeout 240 "$berth" run qemu --timeout 230 "${@:2}" "$1" </dev/null 2>&1 | tr -d '\r'
}

printf '| %-10s | %-26s | %14s | %14s | %14s | %16s |\n' "example" "hand-over" "root ready" "boot complete" "Redis ready" "machine memory"
printf '|%s|%s|%s|%s|%s|%s|\n' "------------" "----------------------------" "----------------" "----------------" "----------------" "------------------"
for yml in "${examples[@]}"; do
    name=$(basename "$yml" .yml)
    store=()
    [ -d "$store_dir" ] && store=(--store "$store_dir")
    "$berth" build -o "$work" --name "$name" --images "$images" "${store[@]}" "$yml" "$here/probe.yml" \
        >"$work/$name.build.log" 2>&1 || { cat "$work/$name.build.log" >&2; exit 1; }
    # The same kernel and initrd, with the former hand-over asked for on the command line.
    ln -sf "$name-kernel" "$work/$name-copy-kernel"
    ln -sf "$name-initrd.img" "$work/$name-copy-initrd.img"
    printf '%s BERTH_HANDOVER=copy' "$(cat "$work/$name-cmdline")" > "$work/$name-copy-cmdline"
    # The Redis OS mounts a data disk: formatted by one uncounted boot, then reused.
    qemu=()
    if grep -q "mount-disk" "$yml"; then
        rm -f "$work/$name-data.img"
        qemu=(--disk "$work/$name-data.img,size=256M")
        boot_once "$work/$name" "${qemu[@]}" > "$work/$name-format.console"
    fi
    for variant in bind copy; do
        prefix=$work/$name; [ "$variant" = copy ] && prefix=$work/$name-copy
        : > "$work/$name-$variant.root"; : > "$work/$name-$variant.boot"; : > "$work/$name-$variant.mem"
        : > "$work/$name-$variant.ready"
        for i in $(seq 1 "$runs"); do
            out=$(boot_once "$prefix" "${qemu[@]}")
            echo "$out" > "$work/$name-$variant.$i.console"
            echo "$out" | sed -n 's/^\[ *\([0-9]*\) ms\] berth: initramfs \(bound onto\|handed over\).*/\1/p' | head -n1 >> "$work/$name-$variant.root"
            echo "$out" | sed -n 's/.*boot complete in \([0-9]*\) ms.*/\1/p' | head -n1 >> "$work/$name-$variant.boot"
            echo "$out" | sed -n 's/^\[ *\([0-9]*\) ms\] berth: services redis: ready after.*/\1/p' | head -n1 >> "$work/$name-$variant.ready"
            echo "$out" | sed -n 's/.*bench: machine memory in use \([0-9]*\) kB.*/\1/p' | head -n1 >> "$work/$name-$variant.mem"
        done
        label=$([ "$variant" = bind ] && echo "bound in place (no copy)" || echo "copied to tmpfs (before)")
        printf '| %-10s | %-26s | %11s ms | %11s ms | %11s ms | %13s kB |\n' "$name" "$label" \
            "$(median < "$work/$name-$variant.root")" "$(median < "$work/$name-$variant.boot")" \
            "$(median < "$work/$name-$variant.ready")" \
            "$(median < "$work/$name-$variant.mem")"
    done
done
