#!/bin/busybox sh
# The guest's /init, packed into the initramfs by setup.sh.
#
# It loads SCTP and the 9p/overlay modules, mounts the host's root read-only under a
# tmpfs overlay (so the guest sees the host's paths: the test binary, testdata, socat,
# lksctp-tools, glibc), mounts the writable shares the host named on the kernel command
# line at their host paths, runs $xfer/cmd.sh with its output on the second serial
# port, writes the exit status to $xfer/rc and powers off.
#
# With rig.init=systemd it instead hands the new root to the host's systemd as PID 1,
# which runs $xfer/cmd.sh as the unit rig-command.service (after basic.target, as any
# service would) and powers off when it ends.
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
init=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	rig.xfer=*) xfer=${arg#rig.xfer=} ;;
	rig.exedir=*) exedir=${arg#rig.exedir=} ;;
	rig.init=*) init=${arg#rig.init=} ;;
	esac
done
[ -n "$xfer" ] || fail "no rig.xfer= on the kernel command line"

# boot_systemd writes the unit that runs the command, and becomes systemd. The
# command's exit status reaches $xfer/rc as it does without systemd.
boot_systemd() {
	[ -x /newroot/lib/systemd/systemd ] || fail "rig.init=systemd but the host has no /lib/systemd/systemd"
	units=/newroot/etc/systemd/system
	mkdir -p "$units"
	cat >"$units/rig-command.service" <<-EOF
	[Unit]
	Description=rig: the command the host asked for
	SuccessAction=reboot-immediate
	FailureAction=reboot-immediate

	[Service]
	Type=oneshot
	StandardInput=null
	LimitNOFILE=1048576
	ExecStart=/bin/sh -c 'sh $xfer/cmd.sh >/dev/ttyS1 2>&1; echo \$\$? >$xfer/rc; sync'
	EOF
	# Nothing may wait for a console answer or a network that the VM has not.
	for u in systemd-firstboot.service systemd-timesyncd.service; do
		ln -sf /dev/null "$units/$u"
	done
	# /tmp keeps the host's files (the test binary, testdata): tmpfiles must not
	# empty it at boot.
	mkdir -p /newroot/etc/tmpfiles.d
	: >/newroot/etc/tmpfiles.d/tmp.conf
	exec switch_root /newroot /lib/systemd/systemd --unit=rig-command.service
}

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
if [ "$init" = systemd ]; then
	boot_systemd
fi
chroot /newroot /bin/sh "$xfer/cmd.sh" >/dev/ttyS1 2>&1 </dev/null
echo $? >"/newroot$xfer/rc"
sync
umount "/newroot$xfer" 2>/dev/null
reboot -f
