#!/bin/bash
# The command lines of the three programs, without root, images or a VM: help on
# stdout with status 0, usage errors as one line saying what is wrong followed by
# the command's own synopsis (never the whole usage) with status 2, and the
# checks `build --dry-run` and `validate` share with the real build.
# Usage: run.sh BERTH BERTH_RUNC BERTH_INIT
set -u
BERTH=$(realpath "${1:?usage: run.sh BERTH BERTH_RUNC BERTH_INIT}")
RUNC=$(realpath "${2:?usage: run.sh BERTH BERTH_RUNC BERTH_INIT}")
INIT=$(realpath "${3:?usage: run.sh BERTH BERTH_RUNC BERTH_INIT}")
. "$(dirname "$0")/../lib/check.sh"

WORK=$(mktemp -d /tmp/berth-cli-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# The in-image CLI is PID 1's binary called `berth`.
ln -s "$INIT" "$WORK/berth"
CTL=$WORK/berth

# run PROGRAM ARGS...: sets RC, OUT (stdout) and ERR (stderr).
run() {
    "$@" >"$WORK/out" 2>"$WORK/err"
    RC=$?
    OUT=$(cat "$WORK/out")
    ERR=$(cat "$WORK/err")
}
# usage_error "description" WANT_FIRST_LINE PROGRAM ARGS...: status 2, nothing on
# stdout, stderr's first line contains WANT_FIRST_LINE, no timestamp, and at most
# MAX_LINES lines (default 12: the message and one command's synopsis).
usage_error() {
    local d=$1 want=$2
    shift 2
    run "$@"
    local first lines
    first=$(head -n1 <<<"$ERR")
    lines=$(wc -l <<<"$ERR")
    if [ "$RC" = 2 ] && [ -z "$OUT" ] && grep -qF -- "$want" <<<"$first" && ! grep -q '^\[' <<<"$ERR" &&
        [ "$lines" -le "${MAX_LINES:-12}" ]; then
        ok "$d"
    else
        fail "$d (exit $RC, $lines lines): $ERR"
    fi
}
# help "description" WANT PROGRAM ARGS...: status 0, WANT on stdout, nothing on stderr.
help() {
    local d=$1 want=$2
    shift 2
    run "$@"
    if [ "$RC" = 0 ] && grep -qF -- "$want" <<<"$OUT" && [ -z "$ERR" ]; then ok "$d"; else
        fail "$d (exit $RC): $OUT $ERR"; fi
}

# --- berth (host tool) ------------------------------------------------------------------
cat >"$WORK/x.yml" <<'EOF'
kernel:
  package: linux-image-amd64
services:
  - name: s
    image: busybox
EOF
printf 'outputs: [raw-bios]\n' >"$WORK/raw-bios.yml"
printf 'outputs: [raw-efi-ab]\n' >"$WORK/ab.yml"
printf 'outputs: [uki]\n' >"$WORK/uki.yml"

# Bad option values of `run qemu`: all usage errors, naming the option and the value.
usage_error "run qemu --accel foo" '--accel: expected auto, kvm or tcg, got `foo`' "$BERTH" run qemu --accel foo p
usage_error "run qemu --mem abc" '--mem `abc`: expected a number of MiB, or a size with a unit' "$BERTH" run qemu --mem abc p
usage_error "run qemu --mem 1X" '--mem `1X`: unknown unit' "$BERTH" run qemu --mem 1X p
usage_error "run qemu --mem 32" '--mem `32`: expected at least 64 MiB' "$BERTH" run qemu --mem 32 p
usage_error "run qemu --publish abc" '--publish `abc`: expected HOST:GUEST' "$BERTH" run qemu --publish abc p
usage_error "run qemu --disk format=qcow2" '--disk `file=x,format=qcow2`: only format=raw' \
    "$BERTH" run qemu --disk file=x,format=qcow2 p
usage_error "run qemu --cpus 0" '--cpus `0`: expected a number of CPUs, at least 1' "$BERTH" run qemu --cpus 0 p
usage_error "run qemu --timeout -5" '--timeout `-5`: expected a number of seconds' "$BERTH" run qemu --timeout -5 p
usage_error "run qemu --arch foo" '--arch `foo`: expected amd64 or arm64' "$BERTH" run qemu --arch foo p
usage_error "run qemu --data with --data-file" 'only one of --data and --data-file' \
    "$BERTH" run qemu --data x --data-file y p
usage_error "run qemu with two files" 'expected one PREFIX' "$BERTH" run qemu a b
check "  ... followed by run qemu's synopsis only" grep -q '^  berth run qemu' <<<"$ERR"
check "  ... and not the other commands'" bash -c '! grep -q "berth build" <<<"$1"' _ "$ERR"

# Usage errors print the command's synopsis, not the whole usage.
usage_error "validate without a file" 'validate: expected a YAML file' "$BERTH" validate
check "  ... then validate's synopsis" grep -q '^  berth validate' <<<"$ERR"
usage_error "image ls --bogus" 'image ls: unknown option `--bogus`' "$BERTH" image ls --bogus
check "  ... then image ls's synopsis" grep -q '^  berth image ls' <<<"$ERR"
usage_error "image ls with an argument" 'image ls: takes no arguments' "$BERTH" image ls x
usage_error "kernel import without --tag" 'kernel import: expected --tag' "$BERTH" kernel import /tmp/x
check "  ... then kernel import's synopsis" grep -q '^  berth kernel import' <<<"$ERR"
usage_error "build --compress xz" '--compress `xz`: expected gzip or zstd' "$BERTH" build --compress xz x.yml
usage_error "build --format nope" '--format: unknown format `nope`' "$BERTH" build --format nope x.yml
usage_error "an unknown command" 'unknown command `frob`' "$BERTH" frob
# `berth image` names the same subcommands with and without one.
usage_error "image without a subcommand" 'import, ls, rm, pull or push' "$BERTH" image
usage_error "image with an unknown subcommand" 'import, ls, rm, pull or push' "$BERTH" image foo
usage_error "image pull --arch foo" '--arch `foo`: expected amd64 or arm64' "$BERTH" image pull --arch foo x
usage_error "image push takes no --arch" 'image push: unknown option `--arch`' "$BERTH" image push --arch arm64 x
help "image --help: push's synopsis has no --arch" 'berth image push [--store DIR] [--insecure' "$BERTH" image --help
check "  ... and pull's has" grep -q 'berth image pull \[--store DIR\] \[--arch amd64|arm64\]' <<<"$OUT"
help "berth --version" "berth " "$BERTH" --version
VERSION=$OUT

# validate and build --dry-run make the build's own checks of its options.
run "$BERTH" validate --arch arm64 "$WORK/x.yml"
check "validate --arch arm64 is accepted" [ "$RC" = 0 ]
run "$BERTH" validate --arch arm64 "$WORK/x.yml" "$WORK/raw-bios.yml"
check "validate --arch arm64 refuses raw-bios" \
    bash -c '[ "$1" = 1 ] && grep -q "output format \`raw-bios\` is for amd64 only" <<<"$2"' _ "$RC" "$ERR"
run "$BERTH" build --dry-run --arch arm64 "$WORK/x.yml" "$WORK/raw-bios.yml"
check "build --dry-run --arch arm64 refuses raw-bios" \
    bash -c '[ "$1" = 1 ] && grep -q "output format \`raw-bios\` is for amd64 only" <<<"$2"' _ "$RC" "$ERR"
run "$BERTH" build --dry-run --arch arm64 --format uki "$WORK/x.yml"
check "build --dry-run --arch arm64 --format uki is refused" \
    bash -c '[ "$1" = 1 ] && grep -q "output format \`uki\` is for amd64 only" <<<"$2"' _ "$RC" "$ERR"
run "$BERTH" build --dry-run --sign-key /nonexistent --sign-cert /nonexistent "$WORK/x.yml" "$WORK/uki.yml"
check "build --dry-run checks the --sign-key file" \
    bash -c '[ "$1" = 1 ] && grep -q -- "--sign-key: cannot read \`/nonexistent\`" <<<"$2"' _ "$RC" "$ERR"
run "$BERTH" build --dry-run --sign-key /nonexistent --sign-cert /nonexistent "$WORK/x.yml"
check "build --dry-run: signing without a signed output" \
    bash -c '[ "$1" = 1 ] && grep -q "which this build does not write" <<<"$2"' _ "$RC" "$ERR"
run "$BERTH" build --dry-run "$WORK/x.yml" "$WORK/ab.yml"
check "build --dry-run: raw-efi-ab needs update: and --update-key" \
    bash -c '[ "$1" = 1 ] && grep -q "x.yml: raw-efi-ab needs an \`update:\` key" <<<"$2" &&
             grep -q -- "give --update-key KEYFILE" <<<"$2" && grep -q "^berth: 2 errors$" <<<"$2"' _ "$RC" "$ERR"
printf 'update: {slotSize: 64M}\n' >>"$WORK/ab.yml"
run "$BERTH" validate "$WORK/x.yml" "$WORK/ab.yml"
check "validate: raw-efi-ab with update: needs no --update-key" [ "$RC" = 0 ]
run "$BERTH" build --dry-run --update-key /nonexistent "$WORK/x.yml" "$WORK/ab.yml"
check "build --dry-run reads the --update-key file" \
    bash -c '[ "$1" = 1 ] && grep -q -- "--update-key \`/nonexistent\`" <<<"$2"' _ "$RC" "$ERR"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/update.key"
run "$BERTH" build --dry-run --update-key "$WORK/update.key" "$WORK/x.yml" "$WORK/ab.yml"
check "build --dry-run with a good --update-key is valid" [ "$RC" = 0 ]

# --- berth-runc ---------------------------------------------------------------------------
R() { "$RUNC" --root "$WORK/runc" "$@"; }
usage_error "berth-runc --root without a value" 'berth-runc: option `--root` needs a value' "$RUNC" --root
check "  ... said once" bash -c '! grep -q "berth-runc: berth-runc:" <<<"$1"' _ "$ERR"
usage_error "berth-runc: an unknown command" 'berth-runc: unknown command `frobnicate`' R frobnicate
MAX_LINES=30 usage_error "berth-runc: no command" 'usage: berth-runc' "$RUNC" --root "$WORK/runc"
usage_error "berth-runc list with an argument" 'list: takes no arguments, got `extra`' R list extra
check "  ... then list's synopsis" grep -q '^usage: berth-runc \[global options\] list' <<<"$ERR"
usage_error "berth-runc features with an argument" 'features: takes no arguments' R features extra
usage_error "berth-runc create --bogus" 'create: unknown option `--bogus`' R create --bogus x
usage_error "berth-runc state without an id" 'state: expected a container id' R state
usage_error "berth-runc kill with an unknown signal" 'unknown signal `NOSUCH`' R kill x NOSUCH
usage_error "berth-runc --log-format xml" '--log-format `xml`: expected text or json' R --log-format xml list
for cmd in create start run state kill delete list ps pause resume exec update events features; do
    help "berth-runc $cmd --help" "usage: berth-runc [global options] $cmd" R "$cmd" --help
done
help "berth-runc --help" "commands:" "$RUNC" --help
run R state nosuch
check "lifecycle errors keep status 1 and their wording" \
    bash -c '[ "$1" = 1 ] && grep -q "container \`nosuch\` does not exist" <<<"$2"' _ "$RC" "$ERR"

# --- berth (in the image) and berth-init --------------------------------------------------
help "berth --version in the image" "$VERSION" "$CTL" --version
help "berth-init --version" "$VERSION" "$INIT" --version
help "berth-init --help is on stdout" "usage: berth-init" "$INIT" --help
usage_error "berth-init with an unknown command" 'berth-init: unknown command `frob`' "$INIT" frob
help "berth --help in the image" "usage: berth ps" "$CTL" --help
usage_error "berth status without a name" 'berth status: expected a container name' "$CTL" status
check "  ... then status's synopsis only" bash -c '[ "$(wc -l <<<"$1")" = 2 ] && grep -q "^usage: berth status NAME" <<<"$1"' _ "$ERR"
usage_error "berth kill NAME SIGNAL" 'berth kill: unexpected argument `BOGUS`' "$CTL" kill x BOGUS
usage_error "berth kill -s BOGUS" 'berth kill: unknown signal `BOGUS`' "$CTL" kill -s BOGUS x
usage_error "berth kill -s without a value" 'berth kill: -s needs a value' "$CTL" kill x -s
usage_error "berth logs -n abc" 'berth logs: -n `abc`: expected a number of lines' "$CTL" logs x -n abc
usage_error "berth ps with an argument" 'berth ps: takes no arguments' "$CTL" ps x
usage_error "berth status --bogus" 'berth status: unknown option `--bogus`' "$CTL" status x --bogus
usage_error "berth with an unknown command" 'berth: unknown command `frob`' "$CTL" frob
usage_error "berth exec without a command" 'berth exec: expected a command' "$CTL" exec x
help "berth status --help" "usage: berth status NAME" "$CTL" status --help

echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" -eq 0 ]
