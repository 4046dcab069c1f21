# Shared helpers for the shell integration tests: ok/fail/skip counters, a check
# that the test left no process behind, and the closing
# "N passed, M failed, K skipped" line.
PASSED=0
FAILED=0
SKIPPED=0
ok()   { PASSED=$((PASSED + 1)); echo "ok   - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }
# skip "what: why": a check that cannot run here; shown and counted, never silent.
skip() { SKIPPED=$((SKIPPED + 1)); echo "skip - $*"; }
# check "description" command... : ok when the command succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }
# has FILE REGEX: the file contains a line matching the extended regex
has() { grep -Eq -- "$2" "$1"; }
# line_of FILE REGEX: number of the first matching line (0 when none)
line_of() { local n; n=$(grep -En -m1 -- "$2" "$1" | cut -d: -f1); echo "${n:-0}"; }
# Every process a test starts inherits this mark (unless it clears its
# environment), so that finish can find whatever is left.
if [ -z "${BERTH_TEST_MARK:-}" ]; then
    BERTH_TEST_MARK="$$-$(date +%s%N)"
    export BERTH_TEST_MARK
fi
# leftover_pids: processes other than this shell (and the subshell running this)
# whose environment carries the mark.
leftover_pids() {
    local f p
    f=$(mktemp) || return 0
    # Run without the mark (env -u), so that grep does not find itself; written
    # to a file and read with builtins, so that no other helper process exists.
    env -u BERTH_TEST_MARK grep -lsxzF "BERTH_TEST_MARK=$BERTH_TEST_MARK" /proc/[0-9]*/environ > "$f"
    while IFS=/ read -r _ _ p _; do
        [ "$p" = $$ ] || [ "$p" = "$BASHPID" ] || echo "$p"
    done < "$f"
    rm -f "$f"
}
# no_leftovers: SIGKILLs and names every process of this test that is still
# there (a container's PID 1, a hook, a QEMU...); false when there was one.
no_leftovers() {
    local pids p
    pids=$(leftover_pids)
    # Exiting processes need a moment on a loaded machine: look again before blaming.
    [ -n "$pids" ] && sleep 1 && pids=$(leftover_pids)
    [ -z "$pids" ] && return 0
    for p in $pids; do
        echo "  left behind: pid $p: $(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null)"
        kill -KILL "$p" 2>/dev/null
    done
    return 1
}
finish() {
    check "no process of this test is left (killed and named if one is)" no_leftovers
    echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
    [ "$FAILED" -eq 0 ]
}
# run_in_private_mount_ns "$0" "$@": root tests exit 77 (meson's "skipped")
# without root; with it the script runs again, once, in a private mount
# namespace of its own, so whatever it mounts goes away with it.
run_in_private_mount_ns() {
    if [ "$(id -u)" != 0 ]; then
        echo "skip - the whole test: needs root"
        echo "0 passed, 0 failed, 1 skipped"
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
