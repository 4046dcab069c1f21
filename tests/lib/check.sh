# Shared helpers for the shell integration tests: ok/fail counters and the
# closing "N passed, M failed" line.
PASSED=0
FAILED=0
ok()   { PASSED=$((PASSED + 1)); echo "ok   - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }
# check "description" command... : ok when the command succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }
# has FILE REGEX: the file contains a line matching the extended regex
has() { grep -Eq -- "$2" "$1"; }
# line_of FILE REGEX: number of the first matching line (0 when none)
line_of() { local n; n=$(grep -En -m1 -- "$2" "$1" | cut -d: -f1); echo "${n:-0}"; }
finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}
# run_in_private_mount_ns "$0" "$@": root tests exit 77 (meson's "skipped")
# without root; with it the script runs again, once, in a private mount
# namespace of its own, so whatever it mounts goes away with it.
run_in_private_mount_ns() {
    if [ "$(id -u)" != 0 ]; then
        echo "needs root; skipping"
        echo "0 passed, 0 failed"
        exit 77
    fi
    [ -n "${BERTH_TEST_UNSHARED:-}" ] && return 0
    exec env BERTH_TEST_UNSHARED=1 unshare --mount --propagation private bash "$@"
}
# cgroup v2 on /sys/fs/cgroup (in the private namespace), as berth, crun and runc want it.
mount_cgroup2() {
    [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || mount -t cgroup2 none /sys/fs/cgroup || true
}
# make_busybox_rootfs DIR: a busybox-static root file system
make_busybox_rootfs() {
    local d=$1 bb
    bb=$(command -v busybox) || { echo "busybox-static is required" >&2; return 1; }
    mkdir -p "$d/bin" "$d/etc" "$d/proc" "$d/sys" "$d/dev" "$d/tmp"
    cp "$bb" "$d/bin/busybox"
    "$d/bin/busybox" --install -s "$d/bin" 2>/dev/null || true
    # --install -s writes absolute links to the host path of busybox; point them at /bin/busybox
    for l in "$d"/bin/*; do [ -L "$l" ] && ln -sf /bin/busybox "$l"; done
    echo 'root:x:0:0:root:/root:/bin/sh' > "$d/etc/passwd"
    echo 'root:x:0:' > "$d/etc/group"
}
