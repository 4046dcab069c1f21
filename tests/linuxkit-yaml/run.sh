#!/bin/bash
# The LinuxKit-format corpus: every case is checked with `berth validate` (no
# images, no kernel) against the outcome written in its header:
#   # expect: valid
#   # expect-error: SUBSTRING      (one line per error; all must appear, and the
#                                  # error count must match the number of lines)
#   # with: OTHER.yml              (files merged after this one, in order)
# A case without a `kernel:` key gets _kernel.yml merged in front of it, as a
# LinuxKit user keeps the kernel in one file and the rest in others.
set -u
berth=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
dir=$(cd "$(dirname "$0")" && pwd)
cd "$dir" || exit 1
pass=0 fail=0
for f in [0-9]*.yml; do
    mapfile -t want_errors < <(sed -n 's/^# expect-error: //p' "$f")
    valid=$(grep -c '^# expect: valid$' "$f")
    mapfile -t with < <(sed -n 's/^# with: //p' "$f")
    if [ "$valid" -eq 0 ] && [ "${#want_errors[@]}" -eq 0 ]; then
        echo "FAIL $f: no '# expect:' or '# expect-error:' header"; fail=$((fail + 1)); continue
    fi
    files=("$f" "${with[@]}")
    grep -q '^kernel:' "$f" || files=(_kernel.yml "${files[@]}")
    out=$("$berth" validate "${files[@]}" 2>&1); rc=$?
    ok=1
    if [ "$valid" -gt 0 ]; then
        [ $rc -eq 0 ] || ok=0
    else
        [ $rc -eq 1 ] || ok=0
        for e in "${want_errors[@]}"; do
            grep -qF -- "$e" <<<"$out" || { ok=0; echo "  missing: $e"; }
        done
        got=$(sed -n "s/^berth: \([0-9]*\) errors*$/\1/p" <<<"$out"); got=${got:-0}
        [ "$got" -eq "${#want_errors[@]}" ] || { ok=0; echo "  expected ${#want_errors[@]} error(s), got $got"; }
    fi
    if [ $ok -eq 1 ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1)); echo "FAIL $f (exit $rc):"; sed 's/^/    /' <<<"$out"
    fi
done
# `build --dry-run` is `validate`: same verdict, no image or kernel needed.
for f in 01-getty-sshd.yml 60-err-several-in-order.yml; do
    a=$("$berth" validate _kernel.yml "$f" 2>&1); ra=$?
    b=$("$berth" build --dry-run -o /nonexistent/out _kernel.yml "$f" 2>&1); rb=$?
    if [ $ra -eq $rb ] && [ "$a" = "$b" ]; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "FAIL build --dry-run differs from validate for $f"; fi
done
# Every command has its own --help, on stdout, exit status 0.
for cmd in "build" "validate" "run qemu" "image import" "image ls" "image rm"; do
    # shellcheck disable=SC2086
    out=$("$berth" $cmd --help 2>/dev/null); rc=$?
    first=${cmd%% *}
    if [ $rc -eq 0 ] && grep -q "^usage:" <<<"$out" && grep -q "berth $first" <<<"$out"; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "FAIL berth $cmd --help (exit $rc): $out"; fi
done
echo "linuxkit-yaml corpus: $pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -ge 40 ]
