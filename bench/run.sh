#!/usr/bin/env bash
# Boot figures, side by side in one run: berth against a busybox-shell floor doing the
# same work (examples/web.yml and the Redis OS: /init to boot complete and to Redis ready,
# the machine's memory in use, PID 1's PSS and VmRSS; bench/boot/run.sh), the static
# binary's size, then the builder, runtime and supervisor figures.
# usage: bench/run.sh BUILD-DIR [RUNS]   (the images: make redis-images)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
runs=${2:-5}

bash "$here/boot/run.sh" "$build" "$runs"
size=$(stat -c %s "$build/init/berth-init.stripped")
echo "static PID 1, stripped: $size bytes (target <= 1.5 MB: $(awk -v s="$size" 'BEGIN { printf "%.2f", s / 1572864 }') of it)"

# amd64 and arm64 side by side (needs the arm64 cross build: make arm64).
if [ -x "${ARM64_BUILD:-$build-arm64}/init/berth-init" ]; then
    "$here/arch/run.sh" "$build" "$runs"
else
    echo "(arm64 figures skipped: no ${ARM64_BUILD:-$build-arm64}/init/berth-init; run make arm64)"
fi

# Builder figures: examples/redis.yml build times, initrd size, /init to Redis ready.
bash "$here/builder/run.sh" "$build" "$runs" || echo "(builder figures failed)"

# Supervisor figures: PID 1 in namespaces (needs root; skipped otherwise).
bash "$here/supervisor/run.sh" "$build/init/berth-init" || echo "(supervisor figures failed)"

# Runtime figures: berth-runc, crun and runc side by side on the same bundle (needs root).
bash "$here/runtime/run.sh" "$build" "$(( runs > 10 ? runs : 10 ))" || echo "(runtime figures failed)"
