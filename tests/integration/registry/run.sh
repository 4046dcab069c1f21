#!/bin/bash
# `berth image pull`, `berth image push` and `berth build --pull` against a real
# OCI distribution registry: Debian's docker-registry, started here on 127.0.0.1
# with a free port and a temporary storage directory (its packaged service is not
# used), killed at the end. Images are pushed by skopeo from OCI layouts written
# by make_layouts.py, among them an image index with amd64 and arm64 entries.
# A second registry with basic auth (htpasswd) checks credentials passed through
# skopeo's auth file. Needs no root. Usage: run.sh BERTH
set -u
BERTH=$(realpath "${1:?usage: run.sh BERTH}")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../lib/check.sh"
for t in docker-registry skopeo python3 curl cpio; do
    if ! command -v $t >/dev/null; then
        echo "skip - the whole test: $t is not installed (tools/install-deps)"
        echo "0 passed, 0 failed, 1 skipped"
        exit 77
    fi
done

WORK=$(mktemp -d /tmp/berth-registry-XXXXXX)
REG_PIDS=()
stop_registries() {
    local p
    for p in "${REG_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    REG_PIDS=()
}
cleanup() { stop_registries; rm -rf "$WORK"; }
trap cleanup EXIT
# skopeo's credentials stay in the test's own (empty) auth file.
export REGISTRY_AUTH_FILE=$WORK/auth.json
echo '{"auths":{}}' > "$REGISTRY_AUTH_FILE"

# start_registry NAME [AUTH-YAML]: a registry on a free 127.0.0.1 port; sets PORT.
start_registry() {
    local name=$1 auth=${2:-} up=
    PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cat > "$WORK/$name.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/$name
http:
  addr: 127.0.0.1:$PORT
$auth
EOF
    # The registry reads REGISTRY_* variables as configuration: skopeo's is not for it.
    env -u REGISTRY_AUTH_FILE docker-registry serve "$WORK/$name.yml" > "$WORK/$name.log" 2>&1 &
    REG_PIDS+=($!)
    for _ in $(seq 100); do
        curl -sS -o /dev/null "http://127.0.0.1:$PORT/v2/" 2>/dev/null && { up=1; break; }
        sleep 0.1
    done
    if [ -z "$up" ]; then
        fail "docker-registry ($name) serves /v2/ on 127.0.0.1:$PORT"; cat "$WORK/$name.log"; finish; exit 1
    fi
    ok "docker-registry ($name) serves /v2/ on 127.0.0.1:$PORT"
}
start_registry open
REG=127.0.0.1:$PORT

python3 "$HERE/make_layouts.py" "$WORK/layouts" > "$WORK/digests" || { fail "make the OCI layouts"; finish; exit 1; }
AMD=$(awk '$1 == "amd64" {print $2}' "$WORK/digests")
ARM=$(awk '$1 == "arm64" {print $2}' "$WORK/digests")
push() { skopeo copy --quiet --dest-tls-verify=false "$@"; }
check "skopeo pushes the amd64+arm64 index (copy --all)" \
    push --all --digestfile "$WORK/multi.digest" "oci:$WORK/layouts/multi:multi" "docker://$REG/test/multi:1"
check "skopeo pushes a single-platform image" \
    push --digestfile "$WORK/single.digest" "oci:$WORK/layouts/amd64:img" "docker://$REG/test/single:1"
INDEX=$(cat "$WORK/multi.digest")
SINGLE=$(cat "$WORK/single.digest")

# store_platforms STORE REF: "ARCH DIGEST" for each platform stored under REF.
store_platforms() {
    python3 - "$1" "$2" <<'EOF'
import json, os, sys
store, ref = sys.argv[1:]
for e in json.load(open(os.path.join(store, "index.json")))["manifests"]:
    if e.get("annotations", {}).get("org.opencontainers.image.ref.name") != ref:
        continue
    blob = json.load(open(os.path.join(store, "blobs", "sha256", e["digest"][7:])))
    for m in blob.get("manifests", []):
        print(m["platform"]["architecture"], m["digest"])
EOF
}
# fails CMD...: CMD exits non-zero
fails() { ! "$@"; }
# out CMD...: runs CMD with its output (both streams) in $WORK/out; its status
out() { "$@" > "$WORK/out" 2>&1; }

S=$WORK/store
check "pull the index for amd64" out "$BERTH" image pull --store "$S" --arch amd64 "$REG/test/multi:1"
check "  reports the stored reference and the registry's index digest" has "$WORK/out" "^$REG/test/multi:1 $INDEX linux/amd64$"
check "  the store holds the amd64 manifest" has <(store_platforms "$S" "$REG/test/multi:1") "^amd64 $AMD$"
check "pull the same index for arm64" out "$BERTH" image pull --store "$S" --arch arm64 "$REG/test/multi:1"
store_platforms "$S" "$REG/test/multi:1" | sort > "$WORK/platforms"
check "  both platforms are kept under one reference" \
    test "$(cat "$WORK/platforms")" = "$(printf 'amd64 %s\narm64 %s' "$AMD" "$ARM")"
check "pulling it again copies nothing" out "$BERTH" image pull --store "$S" --arch arm64 "$REG/test/multi:1"
check "  and says so" has "$WORK/out" "^$REG/test/multi:1 $INDEX linux/arm64 \(already in the store\)$"
check "  image ls lists it once" test "$("$BERTH" image ls --store "$S" | grep -c "test/multi")" = 1
check "pull a single-platform image" out "$BERTH" image pull --store "$S" "$REG/test/single:1"
check "a single-platform image of another architecture is refused" \
    fails out "$BERTH" image pull --store "$S" --arch arm64 "$REG/test/single:1"
check "  naming both architectures" has "$WORK/out" "the image is for amd64, not arm64"
check "  and the amd64 pull stays in the store" has <(store_platforms "$S" "$REG/test/single:1") "^amd64 $AMD$"
check "digest-pinned pull (name@digest) into an empty store" out "$BERTH" image pull --store "$WORK/pinned" "$REG/test/multi@$INDEX"
check "  stored under name@digest" has <(store_platforms "$WORK/pinned" "$REG/test/multi@$INDEX") "^amd64 $AMD$"
check "digest-pinned pull (name@digest): the image pulled by tag has that digest" \
    out "$BERTH" image pull --store "$S" "$REG/test/multi@$INDEX"
check "  so nothing is copied" has "$WORK/out" "already in the store"
check "digest-pinned pull (name:tag@digest)" out "$BERTH" image pull --store "$S" "$REG/test/multi:1@$INDEX"
WRONG=sha256:$(printf '0%.0s' $(seq 64))
check "a pull pinned to a digest the registry does not have fails" fails out "$BERTH" image pull --store "$S" "$REG/test/multi:1@$WRONG"
check "  naming the reference" has "$WORK/out" "pull \`$REG/test/multi:1@$WRONG\`"
check "  and it stored nothing under the wrong pin" fails grep -q "$WRONG" "$S/index.json"
check "a missing image fails" fails out "$BERTH" image pull --store "$S" "$REG/test/nothere:1"
check "  naming the reference" has "$WORK/out" "pull \`$REG/test/nothere:1\` for linux/"
check "  and what the registry said" has "$WORK/out" "manifest unknown|not found"
check "a reference that is not one is refused" fails out "$BERTH" image pull --store "$S" "$REG/Test/x:1"
check "  naming what is wrong" has "$WORK/out" "no upper case"

# push: an image imported into the store goes to the registry and comes back the same.
"$BERTH" image import --store "$S" "$WORK/layouts/arm64" "$REG/test/pushed:2" >/dev/null
check "push a stored image" out "$BERTH" image push --store "$S" "$REG/test/pushed:2"
check "  the registry serves it (pulled into a fresh store for arm64)" \
    out "$BERTH" image pull --store "$WORK/store2" --arch arm64 "$REG/test/pushed:2"
check "  with the same manifest" has <(store_platforms "$WORK/store2" "$REG/test/pushed:2") "^arm64 $ARM$"

# berth build of a YAML whose images exist only in the registry.
mkdir -p "$WORK/yaml/kernel/boot" "$WORK/yaml/kernel/lib/modules/6.1.0-test"
echo "fake kernel" > "$WORK/yaml/kernel/boot/vmlinuz-6.1.0-test"
: > "$WORK/yaml/kernel/lib/modules/6.1.0-test/modules.builtin"
cat > "$WORK/yaml/os.yml" <<EOF
kernel:
  package: ./kernel
onboot:
  - name: first
    image: $REG/test/multi:1
    command: ["/bin/sh", "-c", "true"]
services:
  - name: second
    image: $REG/test/single:1@$SINGLE
    command: ["/bin/sh"]
EOF
B=$WORK/build-store
build() { out "$BERTH" build -o "$WORK/outdir" --store "$B" --kernel-cache "$WORK/kcache" "$@" "$WORK/yaml/os.yml"; }
check "build without --pull: the images are missing" fails build
check "  the error names the normalised reference" has "$WORK/out" "image '$REG/test/multi:1': not found as $REG/test/multi:1"
check "  and suggests berth image pull" has "$WORK/out" "berth image pull $REG/test/multi:1"
# The first image is in the store for arm64 only: --pull adds the build's platform.
"$BERTH" image pull --store "$B" --arch arm64 "$REG/test/multi:1" > /dev/null
if build --pull; then ok "build --pull pulls them (and the missing platform of one) and builds"
else fail "build --pull pulls them (and the missing platform of one) and builds"; sed 's/^/    /' "$WORK/out"; fi
check "  the store holds both platforms of the first" \
    test "$(store_platforms "$B" "$REG/test/multi:1" | sort | cut -d' ' -f1 | tr '\n' ' ')" = "amd64 arm64 "
check "  both images are in the store now" test "$("$BERTH" image ls --store "$B" | grep -c "$REG/test/")" = 2
zcat "$WORK/outdir/os-initrd.img" 2>/dev/null | cpio -t --quiet 2>/dev/null > "$WORK/initrd.list"
check "  the initrd holds the images' files" test "$(grep -c '/which$' "$WORK/initrd.list")" = 2
check "build again without --pull: found in the store" build
sed -i "s|$REG/test/multi:1|$REG/test/multi:1@$WRONG|" "$WORK/yaml/os.yml"
check "a pin that does not match the stored image fails the build" fails build
check "  naming both digests" has "$WORK/out" "pinned to $WRONG but the image stored as .* has digest $INDEX"

# Credentials: a registry with basic auth (htpasswd, bcrypt), reached with the auth
# file skopeo reads (--authfile; $REGISTRY_AUTH_FILE works the same way).
python3 -W ignore -c 'import crypt; print("berth:" + crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH)))' \
    > "$WORK/htpasswd"
start_registry locked "auth:
  htpasswd:
    realm: berth-test
    path: $WORK/htpasswd"
LOCKED=127.0.0.1:$PORT
printf '{"auths":{"%s":{"auth":"%s"}}}' "$LOCKED" "$(printf berth:s3cret | base64)" > "$WORK/creds.json"
"$BERTH" image import --store "$S" "$WORK/layouts/arm64" "$LOCKED/test/locked:1" >/dev/null
check "push to a registry that needs credentials (--authfile)" \
    out "$BERTH" image push --store "$S" --authfile "$WORK/creds.json" "$LOCKED/test/locked:1"
check "  a pull without them is refused" fails out "$BERTH" image pull --store "$WORK/store3" "$LOCKED/test/locked:1"
check "  naming what the registry said" has "$WORK/out" "unauthorized|authentication required"
check "  a pull with them works" out "$BERTH" image pull --store "$WORK/store3" --arch arm64 \
    --authfile "$WORK/creds.json" "$LOCKED/test/locked:1"

# The progress is skopeo's own on a terminal.
if command -v script >/dev/null; then
    script -qec "'$BERTH' image pull --store '$WORK/store4' '$REG/test/single:1'" /dev/null > "$WORK/tty" 2>&1
    check "on a terminal the pull shows skopeo's progress" has "$WORK/tty" "Getting image source signatures"
    "$BERTH" image pull --store "$WORK/store5" "$REG/test/single:1" > "$WORK/notty" 2>&1
    check "  and is quiet otherwise" fails has "$WORK/notty" "signatures"
else
    skip "progress on a terminal: script (util-linux) is not installed"
fi

stop_registries
finish
