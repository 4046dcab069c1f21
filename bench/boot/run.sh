#!/usr/bin/env bash
# Boot and memory figures, berth against its floor, side by side in one run.
# Each example (examples/web.yml and examples/redis.yml unless named) is booted as:
#   berth  the example as built for users: times only (the boot is ended once the
#          last figure is on the console; the Redis OS by its power button);
#   probe  the example merged with probe.yml (a service that prints the memory
#          figures after 4 s and powers off): PID 1 as shipped;
#   floor  the probe image's kernel and initrd with /init replaced by floor-init.sh,
#          a busybox shell script doing the same mounts, module loads, DHCP and data
#          disk and starting the same programs without isolation;
#   copy   (only when VARIANTS names it) the probe image with BERTH_HANDOVER=copy,
#          the former hand-over;
#   serial (only when VARIANTS names it) the berth image with BERTH_PREPARE_AHEAD=0:
#          no start prepared while an onboot container runs, every set-up in turn.
# The variants alternate within each round; medians of RUNS boots (TCG unless KVM
# is usable). Times are from /init: PID 1's own stamps ("boot complete in", "services
# redis: ready after", i.e. Redis's READY=1) and the floor script's (/proc/uptime,
# Redis ready = the first PING answered). Memory, 4 s after the services started:
# MemTotal - MemAvailable of the guest; the same less the free pages on the kernel's
# per-CPU lists (/proc/zoneinfo's `count:`), which are free but missing from MemFree and
# MemAvailable, and whose number depends on how the last processes freed their memory;
# PID 1's PSS (smaps_rollup) and VmRSS.
# usage: bench/boot/run.sh BUILD-DIR [RUNS] [EXAMPLE.yml...]
# The images come from BUILD-DIR/test-images and BUILD-DIR/store (make redis-images),
# or from $IMAGES and $STORE.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "$1" && pwd)
runs=${2:-5}
shift $(( $# >= 2 ? 2 : $# ))
examples=("$@")
[ ${#examples[@]} -gt 0 ] || examples=("$root/examples/web.yml" "$root/examples/redis.yml")
read -r -a variants <<< "${VARIANTS:-berth probe floor}"
berth=$build/builder/berth
work=$build/bench-boot
images=${IMAGES:-$build/test-images}
store_dir=${STORE:-$build/store}
mkdir -p "$work"
# /proc/meminfo's lines that the probe and the floor print after the machine's figure.
meminfo_fields="AnonPages Shmem SUnreclaim KernelStack PageTables Percpu"

median() { grep -E '^[0-9.]+$' | sort -n | awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9]+$/ && b > 0) printf "%.2f", a / b; else print "n/a" }'; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9]+$/ && b ~ /^[0-9]+$/) printf "%+d", a - b; else print "n/a" }'; }
boot_once() {  # PREFIX [QEMU-OPTIONS] -> console text
    timeout 240 "$berth" run qemu --timeout 230 "${@:2}" "$1" </dev/null 2>&1 | tr -d '\r'
}
# A boot without the probe: once PATTERN is on the console, the power button (QEMU's
# monitor: acpid asks PID 1 for an orderly power-off, which leaves the disk clean),
# or, for an image without acpid, the end of QEMU.
boot_until() {  # PREFIX PATTERN [QEMU-OPTIONS] -> console text
    local log=$work/until.console mon=$work/until.monitor pid t=0
    rm -f "$mon"
    timeout 240 "$berth" run qemu --timeout 230 --monitor "$mon" "${@:3}" "$1" </dev/null >"$log" 2>&1 &
    pid=$!
    while [ $t -lt 2300 ] && ! grep -q "$2" "$log" && kill -0 "$pid" 2>/dev/null; do sleep 0.1; t=$((t + 1)); done
    if grep -q "services/acpid" "$1.build.log" 2>/dev/null && [ -S "$mon" ]; then
        python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"system_powerdown\n"); time.sleep(0.3)' "$mon" || true
        t=0
        while [ $t -lt 600 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; t=$((t + 1)); done
    fi
    kill "$pid" 2>/dev/null || true
    local rc=0
    wait "$pid" 2>/dev/null || rc=$?
    tr -d '\r' < "$log"
    echo "bench: qemu run ended with status $rc"
}
# One figure from a console: the first match of a sed expression.
pick() { local v; v=$(sed -n "$1" "$2" | head -n1); echo "${v:--}"; }  # "-": none (keeps rounds aligned)

# The floor image: the initrd unpacked, /init replaced by the script, busybox taken
# from the image's own DHCP container (the same file, so nothing is added), repacked.
make_floor() {  # NAME
    local tree=$work/$1-floor-root
    rm -rf "$tree" && mkdir -p "$tree"
    (cd "$tree" && zcat "$work/$1-probe-initrd.img" | cpio -id --quiet)
    install -m 0755 "$here/floor-init.sh" "$tree/init"
    mkdir -p "$tree/bin"
    local bb=containers/onboot/000-dhcpcd/lower/bin/busybox applet
    ln -sf "../$bb" "$tree/bin/busybox"
    # The applet links made here, not by `busybox --install` at boot.
    for applet in $("$tree/$bb" --list); do [ "$applet" = busybox ] || ln -sf busybox "$tree/bin/$applet"; done
    (cd "$tree" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9) > "$work/$1-floor-initrd.img"
    rm -rf "$tree"
    ln -sf "$1-probe-kernel" "$work/$1-floor-kernel"
    cp "$work/$1-probe-cmdline" "$work/$1-floor-cmdline"
}

accel=""
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
results=()
for yml in "${examples[@]}"; do
    name=$(basename "$yml" .yml)
    store=()
    [ -d "$store_dir" ] && store=(--store "$store_dir")
    "$berth" build -o "$work" --name "$name" --images "$images" "${store[@]}" "$yml" \
        >"$work/$name.build.log" 2>&1 || { cat "$work/$name.build.log" >&2; exit 1; }
    "$berth" build -o "$work" --name "$name-probe" --images "$images" "${store[@]}" "$yml" "$here/probe.yml" \
        >"$work/$name-probe.build.log" 2>&1 || { cat "$work/$name-probe.build.log" >&2; exit 1; }
    for v in "${variants[@]}"; do
        case $v in
            berth | probe) ;;
            copy)
                ln -sf "$name-probe-kernel" "$work/$name-$v-kernel"
                ln -sf "$name-probe-initrd.img" "$work/$name-$v-initrd.img"
                printf '%s BERTH_HANDOVER=copy' "$(cat "$work/$name-probe-cmdline")" > "$work/$name-$v-cmdline" ;;
            serial)
                ln -sf "$name-kernel" "$work/$name-$v-kernel"
                ln -sf "$name-initrd.img" "$work/$name-$v-initrd.img"
                ln -sf "$name.build.log" "$work/$name-$v.build.log"
                printf '%s BERTH_PREPARE_AHEAD=0' "$(cat "$work/$name-cmdline")" > "$work/$name-$v-cmdline" ;;
            floor) make_floor "$name" ;;
            *) echo "unknown variant $v" >&2; exit 2 ;;
        esac
    done
    # The Redis OS mounts a data disk: formatted by one uncounted boot, then reused
    # (every variant unmounts it before powering off).
    qemu=()
    if grep -q "mount-disk" "$yml"; then
        rm -f "$work/$name-data.img"
        qemu=(--disk "$work/$name-data.img,size=256M")
        boot_once "$work/$name-probe" "${qemu[@]}" > "$work/$name-format.console"
    fi
    for v in "${variants[@]}"; do
        for f in boot ready mem pcp memnet pss rss $meminfo_fields; do : > "$work/$name-$v.$f"; done
    done
    for i in $(seq 1 "$runs"); do
        for v in "${variants[@]}"; do
            prefix=$work/$name; [ "$v" = berth ] || prefix=$work/$name-$v
            c=$work/$name-$v.$i.console
            # A boot that shows no figure (QEMU ended early) is run once more.
            for attempt in 1 2; do
                if [ "$v" = berth ] || [ "$v" = serial ]; then
                    last='berth: boot complete in'
                    grep -q "mount-disk" "$yml" && last='berth: services redis: ready after'
                    boot_until "$prefix" "$last" "${qemu[@]}" > "$c"
                else
                    boot_once "$prefix" "${qemu[@]}" > "$c"
                fi
                grep -q 'boot complete in' "$c" && break
                mv "$c" "$c.failed"
            done
            [ -n "$accel" ] || accel=$(pick 's/.*booting .* with \([a-z]*\)$/\1/p' "$c")
            if [ "$v" = floor ]; then
                pick 's/.*bench: floor boot complete in \([0-9]*\) ms.*/\1/p' "$c" >> "$work/$name-$v.boot"
                pick 's/.*bench: floor redis ready in \([0-9]*\) ms.*/\1/p' "$c" >> "$work/$name-$v.ready"
            else
                pick 's/.*berth: boot complete in \([0-9]*\) ms.*/\1/p' "$c" >> "$work/$name-$v.boot"
                pick 's/^\[ *\([0-9]*\) ms\] berth: services redis: ready after.*/\1/p' "$c" >> "$work/$name-$v.ready"
            fi
            pick 's/.*bench: machine memory in use \([0-9]*\) kB.*/\1/p' "$c" >> "$work/$name-$v.mem"
            pick 's/.*bench: free pages on per-CPU lists \([0-9]*\) kB.*/\1/p' "$c" >> "$work/$name-$v.pcp"
            echo "$(minus "$(tail -n1 "$work/$name-$v.mem")" "$(tail -n1 "$work/$name-$v.pcp")")" | tr -d + >> "$work/$name-$v.memnet"
            pick 's/.*bench: pid1 Pss:[[:space:]]*\([0-9]*\) kB.*/\1/p' "$c" >> "$work/$name-$v.pss"
            pick 's/.*bench: pid1 VmRSS:[[:space:]]*\([0-9]*\) kB.*/\1/p' "$c" >> "$work/$name-$v.rss"
            for f in $meminfo_fields; do
                pick "s/.*bench: meminfo .*$f:\([0-9]*\) .*/\1/p" "$c" >> "$work/$name-$v.$f"
            done
        done
    done
    results+=("$name")
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

has() { [[ " ${variants[*]} " == *" $1 "* ]]; }
echo
echo "Boot and memory, berth against the floor ($runs boots each, medians; QEMU accel: ${accel:-?};"
echo "load average $load_before before, $load_after after)"
printf '| %-9s | %-30s | %10s | %10s | %10s | %-16s | %-18s |\n' example measure berth "probe" floor "berth vs floor" target
printf '|%s|%s|%s|%s|%s|%s|%s|\n' -----------  -------------------------------- ------------ ------------ ------------ ------------------ --------------------
fig() { has "$2" && grep -qE '^[0-9]+$' "$work/$1-$2.$3" 2>/dev/null && median < "$work/$1-$2.$3" || echo -; }
row() {  # NAME LABEL FIELD UNIT COMPARE-WITH(berth|probe) HOW(ratio|diff) TARGET
    local b t f cmp
    b=$(fig "$1" berth "$3"); t=$(fig "$1" probe "$3"); f=$(fig "$1" floor "$3")
    local x; x=$([ "$5" = berth ] && echo "$b" || echo "$t")
    if [ "$6" = ratio ]; then cmp="$(ratio "$x" "$f") x"; else cmp="$(minus "$x" "$f") $4"; fi
    printf '| %-9s | %-30s | %7s %-2s | %7s %-2s | %7s %-2s | %-16s | %-18s |\n' "$1" "$2" "$b" "$4" "$t" "$4" "$f" "$4" "$cmp" "$7"
}
for name in "${results[@]}"; do
    row "$name" "/init to boot complete" boot ms berth ratio "<= 1.0 x"
    if [ "$name" = redis ]; then row "$name" "/init to Redis ready" ready ms berth ratio "<= 1.0 x, 1500 ms"; fi
    row "$name" "machine memory in use" mem kB probe diff "<= floor + 2048 kB"
    row "$name" "  of it free on per-CPU lists" pcp kB probe diff "-"
    row "$name" "  in use less those free pages" memnet kB probe diff "<= floor + 2048 kB"
    row "$name" "PID 1 PSS" pss kB probe diff "-"
    row "$name" "PID 1 VmRSS" rss kB probe diff "-"
    for f in $meminfo_fields; do row "$name" "  of the machine's: $f" "$f" kB probe diff "-"; done
done
echo "(berth vs floor: times from the berth column, memory from the probe column, as shipped)"
# Under load the medians drift with the host: the ratio of each round's berth and floor
# boots (run one after the other) and the fastest boot of each are steadier.
if has berth && has floor; then
    for name in "${results[@]}"; do
        for f in boot ready; do
            grep -qE '^[0-9]+$' "$work/$name-berth.$f" && grep -qE '^[0-9]+$' "$work/$name-floor.$f" || continue
            rounds=$(paste -d' ' "$work/$name-berth.$f" "$work/$name-floor.$f" |
                awk '$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && $2 > 0 { printf "%.2f\n", $1 / $2 }')
            printf '%s, /init to %s: berth/floor per round %s (median %s); fastest boot berth %s ms, floor %s ms\n' \
                "$name" "$([ "$f" = boot ] && echo "boot complete" || echo "Redis ready")" "$(echo $rounds)" \
                "$(echo "$rounds" | median)" "$(grep -E '^[0-9]+$' "$work/$name-berth.$f" | sort -n | head -n1)" \
                "$(grep -E '^[0-9]+$' "$work/$name-floor.$f" | sort -n | head -n1)"
        done
    done
fi
if has serial; then
    for name in "${results[@]}"; do
        printf 'serial set-ups (BERTH_PREPARE_AHEAD=0), %s: boot complete %s ms, Redis ready %s ms\n' "$name" \
            "$(median < "$work/$name-serial.boot")" "$(median < "$work/$name-serial.ready")"
    done
fi
if has copy; then
    for name in "${results[@]}"; do
        printf 'former copy hand-over, %s: boot complete %s ms, Redis ready %s ms, machine memory %s kB\n' "$name" \
            "$(median < "$work/$name-copy.boot")" "$(median < "$work/$name-copy.ready")" "$(median < "$work/$name-copy.mem")"
    done
fi
echo "(consoles: $work/NAME-VARIANT.N.console; PID 1's per-step timeline: bench/boot/timeline.sh on a berth console)"
