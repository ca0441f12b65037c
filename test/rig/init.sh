#!/bin/busybox sh
# The guest's /init, packed into the initramfs by setup.sh.
#
# It loads SCTP and the 9p/overlay modules, mounts the host's root read-only under a
# tmpfs overlay (so the guest sees the host's paths: the test binary, testdata, socat,
# lksctp-tools, glibc), mounts the writable shares the host named on the kernel command
# line at their host paths, runs $xfer/cmd.sh with its output on the second serial
# port, writes the exit status to $xfer/rc and powers off.
/bin/busybox mkdir -p /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

fail() {
	echo "rig guest: $*" >/dev/ttyS1
	echo "rig guest: $*"
	reboot -f
}

while read -r m; do
	insmod "/lib/modules/$m.ko" || fail "insmod $m failed"
done </lib/modules/order

xfer=
exedir=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	rig.xfer=*) xfer=${arg#rig.xfer=} ;;
	rig.exedir=*) exedir=${arg#rig.exedir=} ;;
	esac
done
[ -n "$xfer" ] || fail "no rig.xfer= on the kernel command line"

opts=trans=virtio,version=9p2000.L,msize=512000,cache=none
mount -t 9p -o "$opts,ro" hostroot /host || fail "mount host root"
mount -t tmpfs -o size=50% upper /upper || fail "mount tmpfs"
mkdir -p /upper/data /upper/work
mount -t overlay overlay -o lowerdir=/host,upperdir=/upper/data,workdir=/upper/work /newroot ||
	fail "mount overlay"
mount -t 9p -o "$opts" xfer "/newroot$xfer" || fail "mount xfer share"
if [ -n "$exedir" ]; then
	mount -t 9p -o "$opts" exedir "/newroot$exedir" || fail "mount exe share"
fi
mount -t proc proc /newroot/proc
mount -t sysfs sys /newroot/sys
mount -t devtmpfs dev /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts devpts /newroot/dev/pts
mount -t tmpfs run /newroot/run
mount -t tmpfs shm /newroot/dev/shm

ip link set lo up
stty -F /dev/ttyS1 raw -echo
chroot /newroot /bin/sh "$xfer/cmd.sh" >/dev/ttyS1 2>&1 </dev/null
echo $? >"/newroot$xfer/rc"
sync
umount "/newroot$xfer" 2>/dev/null
reboot -f
