#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# /init of the VM tests' initramfs (busybox sh as PID 1). Stage 1 gives the
# root a real mount: runc's pivot_root fails with EINVAL while the root is the
# initramfs itself, so, like switch_root, bind-mount / onto a directory, move
# that mount over / and chroot into it. Stage 2 mounts the kernel filesystems,
# runs every /opt/fusebox/tests/SUITE/*.sh (fusebox.suite=SUITE on the kernel
# command line, default guest), each under a time limit, and powers off.
export PATH=/opt/fusebox/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root

if [ "$1" != stage2 ]; then
	if mount --bind / /newroot && cd /newroot && mount --move . /; then
		exec chroot . /init stage2
	fi
	echo "# init: could not move the root onto a real mount; runc will fail to pivot_root"
	cd /
	exec /init stage2
fi

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t securityfs securityfs /sys/kernel/security
mount -t bpf bpf /sys/fs/bpf
# cgroup v2 only: runc handles it, and Debian's 6.12 has no v1 memory controller.
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
hostname fusebox-vm
for m in /lib/modules/*.ko; do
	[ -f "$m" ] && insmod "$m"
done

limit=$(cat /opt/fusebox/test-timeout 2>/dev/null || echo 90)
# fusebox.suite=NAME on the kernel command line picks the test directory.
suite=guest
for arg in $(cat /proc/cmdline); do
	case $arg in
	fusebox.suite=*) suite=${arg#fusebox.suite=} ;;
	esac
done
echo "# guest: $(uname -r), booted in $(cut -d' ' -f1 /proc/uptime) s"
for t in /opt/fusebox/tests/"$suite"/*.sh; do
	[ -f "$t" ] || continue
	name=${t##*/}
	start=$(cut -d' ' -f1 /proc/uptime)
	# Each script reports its own results and exits 0; anything else means it broke.
	timeout "$limit" sh "$t"
	rc=$?
	end=$(cut -d' ' -f1 /proc/uptime)
	case $rc in
	0) ;;
	124 | 143) echo "not ok - $name did not finish within ${limit} s" ;;
	*) echo "not ok - $name ended with status $rc" ;;
	esac
	echo "# $name: $(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}') s"
done
echo "FUSEBOX-VM-END uptime=$(cut -d' ' -f1 /proc/uptime)"
sync
poweroff -f
