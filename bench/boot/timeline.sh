#!/usr/bin/env bash
# PID 1's own log as a per-step timeline, from /init to ready: each step runs from
# the previous step's last stamp to its own last stamp; consecutive lines of one kind
# (mounts, module loads, cgroup set-up, service launches) make one step.
# usage: bench/boot/timeline.sh CONSOLE-FILE   (a berth console saved by bench/boot/run.sh)
set -euo pipefail
tr -d '\r' < "$1" | sed -n 's/^\[ *\([0-9]*\) ms\] berth: \(.*\)$/\1\t\2/p' | awk -F '\t' '
function kind(m,   w) {
    if (m ~ /^berth .* starting as PID 1/) return "PID 1 started"
    if (m ~ /^initramfs /) return "root: the initramfs bound in place"
    if (m ~ /^(mounted (proc|sysfs|devtmpfs|devpts|mqueue|cgroup2|securityfs|bpf|debugfs) |proc already|.* not available on |mounted tmpfs on \/dev\/shm|cgroup controllers for \/sys\/fs\/cgroup:)/)
        return "kernel file systems, cgroup controllers"
    if (m ~ /^(mounted tmpfs on \/(run|tmp|var)|root file system is read-only)/) return "tmpfs /run /tmp /var, / read-only"
    if (m ~ /^loaded module/) return "kernel modules"
    if (m ~ /^(hostname|lo is up|applied .* sysctl)/) return "hostname, lo up, sysctl"
    if (m ~ /^cgroup controllers for \/sys\/fs\/cgroup\/berth/) return "cgroup tree for the containers"
    if (m ~ /^(coldplug|disk .* links)/) return "coldplug, /dev/disk links"
    if (m ~ /onboot, .* services, .* onshutdown/) return "service table (image.json, bundles)"
    if (m ~ /^onboot [^ ]*: started/) { split(m, w, " "); return "onboot " w[2] " launched (set-up to exec)" }
    if (m ~ /^onboot [^ ]*: exit status/) { split(m, w, " "); return "onboot " w[2] " ran to its exit" }
    if (m ~ /^services [^ ]*: started/) return "services launched side by side"
    if (m ~ /^boot complete/) return "boot complete"
    if (m ~ /^services [^ ]*: ready after/) { split(m, w, " "); return "services " w[2] " ready (its READY=1)" }
    return ""
}
function flush() { if (cur != "") printf "| %6d | %6d | %s%s | %5d |\n", from, last, cur, (n > 1 ? " (" n " log lines)" : ""), last - from }
BEGIN { print "| from ms | to ms | step | ms |"; print "| ---: | ---: | --- | ---: |" }
{
    k = kind($2)
    if (k == "") next
    if (k != cur) { flush(); from = (cur == "" ? 0 : last); cur = k; n = 0 }
    last = $1; n++
    if (k ~ /ready \(its READY=1\)/) { flush(); cur = ""; exit }
}
END { flush() }'
