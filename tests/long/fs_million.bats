#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# make check-long: fuseboxd's memory on a tree of a million files stays bounded by
# what the kernel caches: after the kernel forgets the inodes (drop_caches), a new
# walk reuses what the last one freed. Root; a tmpfs of its own.

load ../lib/fs

setup() {
	fs_setup
	mount -t tmpfs -o size=2g fusebox-million "$L1"
	python3 - "$L1" <<'EOF'
import os, sys
root = sys.argv[1]
for d in range(1000):
    p = "%s/d%03d" % (root, d)
    os.mkdir(p)
    for f in range(1000):
        os.close(os.open("%s/f%03d" % (p, f), os.O_CREAT | os.O_WRONLY, 0o644))
EOF
}

teardown() {
	umount "$MNT" 2>/dev/null || true
	umount "$L1" 2>/dev/null || umount -l "$L1"
	fs_teardown
}

hwm_kib() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

@test "a million files: every walk looks every file up, and the daemon's peak memory does not grow from walk to walk" {
	local pid walk first
	fbx -o lowerdir="$L1" "$MNT"
	pid=$(pgrep -f -- "fuseboxd -o lowerdir=$L1 " | head -1)
	[ -n "$pid" ]
	for walk in 1 2 3; do
		# %s needs a stat: one LOOKUP (and one node) per file.
		[ "$(find "$MNT" -printf '%s\n' | wc -l)" -eq 1001001 ]
		echo "walk $walk: VmHWM $(hwm_kib "$pid") KiB"
		[ -n "${first:-}" ] || first=$(hwm_kib "$pid")
		# The kernel forgets the inodes; the daemon frees their nodes.
		echo 2 >/proc/sys/vm/drop_caches
		sleep 10
	done
	# Bounded: at most 10% above the first walk's peak (measured: equal).
	[ "$(hwm_kib "$pid")" -le $((first * 11 / 10)) ]
}
