#!/bin/busybox sh
# The floor berth is measured against: a busybox shell /init that does the same
# mounts and module loads and starts the same programs, with no isolation.
/bin/busybox --install -s /bin
t0=$(cut -d' ' -f1 /proc/uptime 2>/dev/null)
mount -t proc proc /proc
t0=$(cut -d' ' -f1 /proc/uptime)
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
while read -r ko params; do insmod "$ko" $params; done < /etc/berth/modules
hostname -F /etc/hostname
ip link set lo up
sysctl -q -p /etc/sysctl.d/00-berth.conf 2>/dev/null
udhcpc -i eth0 -q -n -f -t 10 -s /usr/share/udhcpc/default.script >/dev/null 2>&1
httpd -p 80 -h /etc/web
t1=$(cut -d' ' -f1 /proc/uptime)
echo "floor: boot complete in $(awk "BEGIN{printf \"%d\", ($t1-$t0)*1000}") ms"
echo "floor: pid1 $(grep VmRSS /proc/1/status)"
sync
poweroff -f
