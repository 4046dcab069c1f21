#!/usr/bin/env bash
# Boot time to ready for each architecture in one table: the same YAML
# (bench/images/boot.yml: DHCP onboot, httpd, a probe that powers off) built with
# `berth build --arch` and booted with `berth run qemu`, plus the stripped size of
# each static PID 1. amd64 uses KVM when it works, arm64 on an x86_64 host is
# always TCG (software emulation): the table prints the accelerator of each.
# usage: bench/arch/run.sh BUILD-DIR [RUNS]   (the arm64 tree is BUILD-DIR-arm64)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
runs=${2:-3}
berth=$build/builder/berth
arm64_build=${ARM64_BUILD:-$build-arm64}
work=$build/bench/arch
mkdir -p "$work"

declare -A images=([amd64]=$build/test-images [arm64]=${ARM64_IMAGES:-$build/test-images-arm64})
declare -A init=([amd64]=$build/init/berth-init [arm64]=$arm64_build/init/berth-init)
declare -A stripped=([amd64]=$build/init/berth-init.stripped [arm64]=$arm64_build/init/berth-init.stripped)
for a in amd64 arm64; do
    [ -x "${init[$a]}" ] || { echo "$0: no $a PID 1 at ${init[$a]} (make build arm64)" >&2; exit 1; }
    [ -d "${images[$a]}/busybox" ] ||
        "$here/../examples/images/make-busybox-image" --arch "$a" "${images[$a]}/busybox" >/dev/null
done

# One boot: prints "WALL_MS INIT_MS ACCEL", WALL_MS from starting QEMU to the
# "boot complete" line on the console, INIT_MS what PID 1 reports (from /init).
boot_once() {
    local t0 wall="" initms="" accel="" line
    t0=$EPOCHREALTIME
    while IFS= read -r line; do
        line=${line%$'\r'}
        case $line in
            *"boot complete in "*)
                [ -n "$wall" ] && continue
                wall=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }')
                initms=$(sed -n 's/.*boot complete in \([0-9]*\) ms.*/\1/p' <<< "$line") ;;
            *"booting "*" with "*) accel=${line##* with } ;;
        esac
    done < <(timeout 400 "$berth" run qemu --timeout 390 "$1" </dev/null 2>&1)
    echo "${wall:-n/a} ${initms:-n/a} ${accel:-n/a}"
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a > 0) printf "%.2f", a / b; else print "n/a" }'; }

declare -A wall_ms init_ms accel_of
for a in amd64 arm64; do
    "$berth" build -o "$work" --name "boot-$a" --arch "$a" --init "${init[$a]}" \
        --images "${images[$a]}" "$here/images/boot.yml" >"$work/build-$a.log" 2>&1 ||
        { cat "$work/build-$a.log" >&2; exit 1; }
    : > "$work/$a.wall"; : > "$work/$a.init"
    for _ in $(seq 1 "$runs"); do
        read -r w i acc < <(boot_once "$work/boot-$a")
        echo "$w" >> "$work/$a.wall"; echo "$i" >> "$work/$a.init"; accel_of[$a]=$acc
    done
    wall_ms[$a]=$(grep -v n/a "$work/$a.wall" | median)
    init_ms[$a]=$(grep -v n/a "$work/$a.init" | median)
done

row() { printf '| %-46s | %14s | %14s | %12s |\n' "$@"; }
echo
echo "Boot to ready by architecture ($runs runs each, medians; same YAML, same host)"
row "measure" "amd64" "arm64" "arm64/amd64"
row "----------------------------------------------" "--------------" "--------------" "------------"
row "QEMU accelerator" "${accel_of[amd64]}" "${accel_of[arm64]}" ""
row "QEMU start to boot complete (wall, ms)" "${wall_ms[amd64]}" "${wall_ms[arm64]}" "$(ratio "${wall_ms[arm64]}" "${wall_ms[amd64]}")"
row "/init to boot complete (PID 1's clock, ms)" "${init_ms[amd64]}" "${init_ms[arm64]}" "$(ratio "${init_ms[arm64]}" "${init_ms[amd64]}")"
sa=$(stat -c %s "${stripped[amd64]}"); sb=$(stat -c %s "${stripped[arm64]}")
row "static PID 1, stripped (bytes)" "$sa" "$sb" "$(ratio "$sb" "$sa")"
