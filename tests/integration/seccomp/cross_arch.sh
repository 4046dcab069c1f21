#!/usr/bin/env bash
# The builder compiles seccomp profiles for the image's architecture on the build
# machine; what it makes for a foreign target must be byte for byte what
# libseccomp makes on that target at boot. Checked both ways between amd64 and
# arm64: the amd64 berth-seccomp-compile for aarch64 against the arm64 one run
# natively (qemu-user), and the arm64 one for x86_64 against the amd64 one.
# Profiles: the shipped default and custom ones (kill default, conditions,
# flags, syscalls only one architecture has, a name libseccomp does not know).
# libseccomp asks the kernel whether SCMP_ACT_LOG and SCMP_ACT_KILL_PROCESS
# exist, and under qemu-user seccomp(2) does not, so those two actions are left
# out here (they are only return values in the program; the unit tests cover
# them natively).
# usage: cross_arch.sh AMD64_TOOL ARM64_TOOL [DEFAULTS_DIR]
#   the tools are runtime/berth-seccomp-compile of a native and an arm64 cross
#   build (make arm64); the arm64 one runs under qemu-aarch64-static.
set -euo pipefail
amd64=${1:?usage: cross_arch.sh AMD64_TOOL ARM64_TOOL [DEFAULTS_DIR]}
arm64=${2:?usage: cross_arch.sh AMD64_TOOL ARM64_TOOL [DEFAULTS_DIR]}
here=$(cd "$(dirname "$0")" && pwd)
defaults=${3:-$here/../../../config/defaults}
qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64)

work=$(mktemp -d /tmp/berth-seccomp-cross-XXXXXX)
trap 'rm -rf "$work"' EXIT

config() {  # NAME SECCOMP_JSON
    printf '{"ociVersion": "1.0.2", "root": {"path": "rootfs"},
 "process": {"args": ["/bin/sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
 "linux": {"namespaces": [{"type": "mount"}], "seccomp": %s}}\n' "$2" > "$work/$1.json"
}
config default "$(cat "$defaults/seccomp.json")"
config kill-allowlist '{"defaultAction": "SCMP_ACT_KILL",
  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
  "syscalls": [{"names": ["read", "write", "exit_group", "open", "arm_fadvise64_64", "sync_file_range2",
                          "socketcall", "no_such_call_xyz"], "action": "SCMP_ACT_ALLOW"}]}'
config conditions '{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"],
  "syscalls": [
    {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
     "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_NE"}, {"index": 0, "value": 8, "op": "SCMP_CMP_NE"}]},
    {"names": ["clone"], "action": "SCMP_ACT_ERRNO",
     "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
    {"names": ["socket"], "action": "SCMP_ACT_TRAP",
     "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 3, "op": "SCMP_CMP_GE"}]},
    {"names": ["getppid", "setns", "open", "mmap2"], "action": "SCMP_ACT_TRACE", "errnoRet": 7}]}'
config native-only '{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
  "syscalls": [{"names": ["getpid", "openat", "rename", "renameat2"], "action": "SCMP_ACT_ALLOW"}]}'

fail=0
for cfg in "$work"/*.json; do
    name=$(basename "$cfg" .json)
    "$amd64" "$cfg" > "$work/$name.amd64-native"
    "$amd64" "$cfg" aarch64 > "$work/$name.amd64-for-arm64"
    "$qemu" "$arm64" "$cfg" > "$work/$name.arm64-native"
    "$qemu" "$arm64" "$cfg" x86_64 > "$work/$name.arm64-for-amd64"
    for pair in "amd64-for-arm64 arm64-native" "arm64-for-amd64 amd64-native"; do
        set -- $pair
        if cmp -s "$work/$name.$1" "$work/$name.$2"; then
            echo "ok   $name: $1 == $2 ($(( $(stat -c %s "$work/$name.$2") / 8 )) instructions)"
        else
            echo "FAIL $name: $1 != $2"
            fail=1
        fi
    done
    if cmp -s "$work/$name.amd64-native" "$work/$name.arm64-native"; then
        echo "FAIL $name: the two architectures' programs are equal, the comparison proves nothing"
        fail=1
    fi
done
exit $fail
