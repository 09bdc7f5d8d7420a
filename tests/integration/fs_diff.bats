#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# fsdiff, the differential file system tester (tests/tools/fsdiff), against real
# mounts: it must catch a divergence when there is one, and the same seeded
# operations must give the same results and trees on a native directory and on
# kernel overlayfs, fuse-overlayfs and fuseboxd. Runs as root; everything lives
# on a tmpfs mounted in this test's temp dir; teardown unmounts it all and
# stops the daemons it started.
#
# Peers' known deviations are accepted only by name (fsdiff --allow):
#   kernel overlayfs: sparse-filled (copy-up fills holes in 1 MiB chunks),
#     fifo-mtime (writing a FIFO does not update its mtime), unlinked-nlink
#     (an open lower file that is unlinked keeps nlink 1), orphan-copyup
#     (fchmod/write through an fd of a lower file since unlinked or replaced
#     fails with EEXIST: no copy-up of an orphan); and it needs
#     index=on, or copy-up breaks hard links (see the test below).
#   fuseboxd read-only: sparse-filled + seek-dense (it does not answer
#     SEEK_DATA/SEEK_HOLE yet: the kernel reports every file as all data).

load ../lib/common
load ../lib/fsdiff

setup() {
	fsdiff_setup
}

teardown() {
	fsdiff_teardown
}

@test "fsdiff refuses bad usage with status 2" {
	run "$FSDIFF" --ref "$T"
	[ "$status" -eq 2 ]
	run "$FSDIFF" --ref "$T" --test "$T" --profile rx
	[ "$status" -eq 2 ]
	run "$FSDIFF" --ref "$T" --test "$T" --allow no-such-equivalence
	[ "$status" -eq 2 ]
	run "$FSDIFF" --ref "$T/missing" --test "$T"
	[ "$status" -eq 2 ]
	echo 'frobnicate path=a' >"$T/bad.ops"
	run "$FSDIFF" --ref "$T" --test "$T" --replay "$T/bad.ops"
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown operation 'frobnicate'"* ]]
}

@test "a seed fixes the operations and the tree: same seed, same ops, identical trees" {
	"$FSDIFF" --print-ops --seed 7 --ops 500 >"$T/a"
	"$FSDIFF" --print-ops --seed 7 --ops 500 >"$T/b"
	"$FSDIFF" --print-ops --seed 8 --ops 500 >"$T/c"
	cmp "$T/a" "$T/b"
	! cmp -s "$T/a" "$T/c" || { echo "seeds 7 and 8 gave the same ops"; return 1; }
	build 7 3 >/dev/null
	"$FSDIFF" --build-tree "$T/again" --seed 7 --layers 3
	fsdiff --ref "$T/s7/ref" --test "$T/again/ref" --seed 7 --ops 2000
	[ "$status" -eq 0 ]
	[[ "$output" == *"ops=2000: no divergence"* ]]
}

@test "a tree that differs in one file's content is reported with its path" {
	build 3 1 >/dev/null
	"$FSDIFF" --build-tree "$T/other" --seed 3
	f=$(cd "$T/other/ref" && find . -type f -size +0 | sort | head -1)
	f=${f#./}
	# Flip the first byte to one it is not.
	if [ "$(head -c1 "$T/other/ref/$f" | od -An -tu1 | tr -d ' ')" = 0 ]; then
		printf '\001' | dd of="$T/other/ref/$f" bs=1 conv=notrunc status=none
	else
		printf '\000' | dd of="$T/other/ref/$f" bs=1 conv=notrunc status=none
	fi
	touch -r "$T/s3/ref/$f" "$T/other/ref/$f"
	fsdiff --ref "$T/s3/ref" --test "$T/other/ref" --seed 3 --ops 10
	[ "$status" -eq 1 ]
	[[ "$output" == *"DIVERGENCE seed=3"* ]]
	[[ "$output" == *"tree: $f: content differs from byte 0"* ]]
}

@test "a tree that differs in one file's mode is reported with both modes" {
	build 3 1 >/dev/null
	"$FSDIFF" --build-tree "$T/other" --seed 3
	f=$(cd "$T/other/ref" && find . -type f | sort | head -1)
	f=${f#./}
	chmod 0713 "$T/other/ref/$f"
	touch -r "$T/s3/ref/$f" "$T/other/ref/$f"
	fsdiff --ref "$T/s3/ref" --test "$T/other/ref" --seed 3 --ops 10
	[ "$status" -eq 1 ]
	[[ "$output" == *"tree: $f: mode"* ]]
	[[ "$output" == *"test: file mode=0713"* ]]
}

@test "a replayed op that fails only on the test side is reported with seed, index, op and both results" {
	build 4 1 >/dev/null
	"$FSDIFF" --build-tree "$T/other" --seed 4
	mkdir "$T/ro"
	mount --bind "$T/other/ref" "$T/ro"
	mount -o remount,bind,ro "$T/ro"
	printf '# a comment\nstat path=a follow=no\nmkdir path=zz mode=0755\n' >"$T/ops"
	fsdiff --ref "$T/s4/ref" --test "$T/ro" --seed 4 --replay "$T/ops"
	[ "$status" -eq 1 ]
	[[ "$output" == *"DIVERGENCE seed=4 profile=rw op #2"* ]]
	[[ "$output" == *"op:   mkdir path=zz mode=0755"* ]]
	[[ "$output" == *"ref:  ret=0"* ]]
	[[ "$output" == *"test: ret=-1 EROFS"* ]]
	# The log ends with the op that diverged: it replays.
	[ "$(tail -1 "$T/fsdiff.log")" = "mkdir path=zz mode=0755" ]
}

@test "overlayfs without index=on breaks hard links on copy-up, and fsdiff says so" {
	mount_overlay 1 1 index=off
	fsdiff --ref "$T/s1/ref" --test "$T/s1/mnt" --seed 1 --ops 3000 --allow "$OVL_ALLOW"
	[ "$status" -eq 1 ]
	[[ "$output" == *"nlink"* || "$output" == *"hard link structure"* ]]
}

@test "rw: kernel overlayfs (index=on) matches a native directory, seeds 1-4, 3000 ops each" {
	local seed
	for seed in 1 2 3 4; do
		mount_overlay "$seed" $((seed % 3 + 1)) index=on
		fsdiff --ref "$T/s$seed/ref" --test "$T/s$seed/mnt" --seed "$seed" --ops 3000 \
			--allow "$OVL_ALLOW"
		[ "$status" -eq 0 ]
		[[ "$output" == *"ops=3000: no divergence"* ]]
	done
}

@test "rw: fuse-overlayfs matches a native directory, seeds 1-2, 3000 ops each" {
	command -v fuse-overlayfs >/dev/null || skip "fuse-overlayfs is not installed"
	local seed d
	for seed in 1 2; do
		d=$T/s$seed
		mount_fuse_overlayfs "$seed" 1
		fsdiff --ref "$d/ref" --test "$d/mnt" --seed "$seed" --ops 3000 \
			--allow "$OVL_ALLOW,seek-dense"
		[ "$status" -le 1 ] # 0 or 1: not a usage error, crash or timeout
		# A divergence of the peer is reported (with its op), not counted as ours.
		[ "$status" -eq 0 ] || skip "$(fuse-overlayfs --version 2>&1 |
			grep -o 'fuse-overlayfs: version .*') diverges: $(divergence_summary)"
	done
}

@test "ro: read-only fuseboxd matches the native merged tree, seeds 1-3, 3000 ops each" {
	local seed low
	for seed in 1 2 3; do
		low=$(build "$seed" "$seed")
		mount_fuseboxd_ro "$T/s$seed/mnt" "$low"
		fsdiff --ref "$T/s$seed/ref" --test "$T/s$seed/mnt" --seed "$seed" --ops 3000 \
			--profile ro --allow sparse-filled,seek-dense
		[ "$status" -eq 0 ]
		[[ "$output" == *"profile=ro ops=3000: no divergence"* ]]
	done
}

@test "ro: fuseboxd shows sparse files as sparse (SEEK_DATA/SEEK_HOLE)" {
	local low
	low=$(build 3 1)
	mount_fuseboxd_ro "$T/s3/mnt" "$low"
	fsdiff --ref "$T/s3/ref" --test "$T/s3/mnt" --seed 3 --ops 3000 --profile ro
	[ "$status" -eq 0 ]
}

@test "rw: fuseboxd with a writable upper matches a native directory, in each data mode" {
	local seed d low opt
	# fifo-mtime and sparse-filled are layout/time deviations that kernel
	# overlayfs shares (tests/tools/fsdiff/compare.c); everything else must match.
	for opt in "" nopassthrough noopen; do
		for seed in 1 2 3; do
			d=$T/s$seed${opt:+-$opt}
			low=$(build "$seed" $((seed % 3 + 1)) "$d")
			upper_dirs "$d" "$d/ref"
			mount_fuseboxd_rw "$d/mnt" "$low" "$d/upper" "$d/work" "$opt"
			fsdiff --ref "$d/ref" --test "$d/mnt" --seed "$seed" --ops 3000 \
				--allow fifo-mtime,sparse-filled
			echo "$opt seed $seed: $output"
			[ "$status" -eq 0 ]
			[[ "$output" == *"profile=rw ops=3000: no divergence"* ]]
		done
	done
}
