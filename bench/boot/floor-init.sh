#!/bin/busybox sh
# The floor berth is measured against: the same initrd with berth's /init replaced
# by this busybox shell script. It does the same mounts, module loads and DHCP,
# mounts the data disk and starts the same programs from the image's container
# trees, with no isolation (no namespaces, cgroups, seccomp, capability or uid
# changes). What it starts follows the image: httpd for examples/web.yml; the data
# disk, acpid and Redis for examples/redis.yml. It prints the figures
# bench/boot/run.sh reads, in the probe's format (bench/boot/probe.yml), and powers off.
# The applet links in /bin are made with the image (bench/boot/run.sh).
mount -t proc proc /proc
read -r t0 _ < /proc/uptime
since_init() { read -r t _ < /proc/uptime; awk -v a="$t0" -v b="$t" 'BEGIN { printf "%d", (b - a) * 1000 }'; }

mount -t sysfs sysfs /sys
mount -t devtmpfs -o mode=0755 devtmpfs /dev
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t mqueue mqueue /dev/mqueue
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t securityfs securityfs /sys/kernel/security
mount -t bpf bpf /sys/fs/bpf
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /run /tmp /var
mount -t tmpfs -o mode=0755,size=10% tmpfs /run
mount -t tmpfs -o mode=1777,size=10% tmpfs /tmp
mount -t tmpfs -o mode=0755,size=50% tmpfs /var
mkdir -p /var/log /var/lib
while read -r ko params; do
    case $ko in /*) insmod "$ko" $params ;; esac
done < /etc/berth/modules
# Coldplug as berth's PID 1 does it: the modules of the devices present, by their
# modalias, through the image's modules.alias and modules.dep, again while loading
# them brings new devices (a bus driver, then the devices on its bus).
aliases=
for pass in 1 2 3 4; do
    now=$(find /sys/devices -name modalias -exec cat {} + 2>/dev/null | sort -u)
    [ "$now" = "$aliases" ] && break
    aliases=$now
    echo "$aliases" | xargs modprobe -qa 2>/dev/null
done
[ -f /etc/hostname ] && hostname -F /etc/hostname
ip link set lo up
sysctl -q -p /etc/sysctl.d/00-berth.conf 2>/dev/null

# onboot: DHCP, with the image's hook script.
dhcp=/containers/onboot/000-dhcpcd/lower/usr/share/udhcpc/default.script
udhcpc -i eth0 -q -n -f -t 10 -s "$dhcp"

# onboot: the data disk, by the image's mount-disk in its tree; the mount shows on
# /var/lib/redis through a shared bind of /var, as in berth's data container.
data=/containers/onboot/001-data/lower
if [ -x "$data/sbin/mount-disk" ]; then
    mount --make-shared /var
    mount --bind /dev "$data/dev"
    mount --bind /var "$data/var"
    chroot "$data" /sbin/mount-disk /dev/vda /var/lib/redis 999:999
fi

# services
if [ -d /containers/services/web ]; then
    httpd -f -v -p 80 -h /etc/web &
fi
redis=/containers/services/redis/lower
if [ -x "$redis/usr/bin/redis-server" ]; then
    acpid -d -c /etc/acpi &
    mount --bind /dev "$redis/dev"
    mount -t proc proc "$redis/proc"
    mount -t tmpfs -o size=1m,mode=755 tmpfs "$redis/run"
    mount --bind /var/lib/redis "$redis/var/lib/redis"
    chroot "$redis" /usr/bin/redis-server /etc/redis/redis.conf &
    redis_pid=$!
fi
echo "bench: floor boot complete in $(since_init) ms"

# Redis ready: the first PING answered. Until Redis listens on 6379 (state 0A in
# /proc/net/tcp) the wait uses shell builtins only, not to take the CPU from it.
listening() {
    while read -r _ addr _ state _; do
        [ "$state" = 0A ] && [ "${addr#*:}" = 18EB ] && return 0
    done < /proc/net/tcp
    return 1
}
if [ -x "$redis/usr/bin/redis-server" ]; then
    i=0
    until listening; do
        i=$((i + 1))
        [ $i -lt 3000 ] || break
        usleep 10000
    done
    until printf 'PING\r\nQUIT\r\n' | nc 127.0.0.1 6379 2>/dev/null | grep -q PONG; do
        i=$((i + 1))
        [ $i -lt 3000 ] || break
        usleep 10000
    done
    [ $i -lt 3000 ] && echo "bench: floor redis ready in $(since_init) ms"
fi

# The same settling time as the probe's, then the same figures.
sleep 4
awk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 } END { print "bench: machine memory in use", t - a, "kB" }' /proc/meminfo
ps=$(awk '/^KernelPageSize:/ { print $2; exit }' /proc/self/smaps)
awk -v ps="$ps" '$1 == "count:" { n += $2 } END { print "bench: free pages on per-CPU lists", n * ps, "kB" }' /proc/zoneinfo
echo "bench: pid1 $(grep VmRSS /proc/1/status)"
echo "bench: pid1 $(grep '^Pss:' /proc/1/smaps_rollup)"
echo "bench: meminfo $(awk '/^(AnonPages|Shmem|SUnreclaim|KernelStack|PageTables|Percpu):/ { printf "%s%s ", $1, $2 }' /proc/meminfo)"
# Not counted: Redis stopped and the disk unmounted, so that the next boot finds
# it clean (berth's shutdown does the same).
if [ -n "${redis_pid:-}" ]; then
    kill "$redis_pid"; wait "$redis_pid"
    umount "$redis/var/lib/redis"; umount /var/lib/redis
fi
sync
poweroff -f
