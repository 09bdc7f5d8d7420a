#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# fuseboxd as a read-only overlay of lower layers, mounted standalone on a real
# FUSE mount: merge rules, whiteouts, opaque directories, symlink containment,
# EROFS, fd limits, passthrough, the command line and the daemon's lifecycle.
# Runs as root. Every test builds its layers in its own temp dir; teardown
# unmounts and stops every daemon whose command line names that dir.

load ../lib/fs

setup() {
	fs_setup
}

teardown() {
	fs_teardown
}

@test "a file read through the mount has the lower file's content" {
	head -c 3000000 /dev/urandom >"$L1/big"
	echo small >"$L1/small"
	fbx -o lowerdir="$L1" "$MNT"
	cmp "$L1/big" "$MNT/big"
	cmp "$L1/small" "$MNT/small"
	[ "$(stat -c %s "$MNT/big")" -eq 3000000 ]
}

@test "the multi-threaded loop (--threads=4) serves parallel readers, then exits on SIGTERM" {
	local i
	mkdir -p "$L1/d" "$L2/d"
	for i in $(seq 1000); do echo "top $i" >"$L1/d/f$i"; done
	for i in $(seq 500 1500); do echo "low $i" >"$L2/d/f$i"; done
	start_fg "$T/log" --threads=4 -o lowerdir="$L1:$L2" "$MNT"
	(cd "$MNT/d" && ls | xargs -P 4 -n 50 md5sum | sort) >"$T/got"
	# Worker threads besides the main one (the default loop has just one thread).
	[ "$(ps -o nlwp= -p "$DPID")" -ge 2 ]
	{
		(cd "$L1/d" && ls | xargs md5sum)
		(cd "$L2/d" && seq -f 'f%g' 1001 1500 | xargs md5sum)
	} | sort >"$T/want"
	[ "$(wc -l <"$T/got")" -eq 1500 ]
	cmp "$T/want" "$T/got"
	kill -TERM "$DPID"
	wait_status "$DPID"
	[ "$st" -eq 0 ]
	refute_mounted
}

@test "without passthrough the daemon serves reads (FUSE_READ, spliced) and they match" {
	head -c 3000000 /dev/urandom >"$L1/big"
	start_fg "$T/log" -d -o lowerdir="$L1",nopassthrough "$MNT"
	cmp "$L1/big" "$MNT/big"
	opcodes "$T/log" | grep -q '^READ '
}

@test "two lowers merge: names of both are listed and the top one wins" {
	echo top >"$L1/same"
	echo bottom >"$L2/same"
	echo only-top >"$L1/t"
	echo only-bottom >"$L2/b"
	mkdir -p "$L1/dir" "$L2/dir"
	echo 1 >"$L1/dir/one"
	echo 2 >"$L2/dir/two"
	mkdir "$L2/filebelow"
	echo 3 >"$L2/filebelow/x"
	echo file >"$L1/filebelow"
	fbx -o lowerdir="$L1:$L2" "$MNT"
	[ "$(cat "$MNT/same")" = top ]
	[ "$(cat "$MNT/t")" = only-top ]
	[ "$(cat "$MNT/b")" = only-bottom ]
	[ "$(ls "$MNT/dir" | tr '\n' ' ')" = "one two " ]
	# A file above hides the directory below it.
	[ -f "$MNT/filebelow" ]
	[ "$(cat "$MNT/filebelow")" = file ]
	[ "$(ls -A "$MNT" | tr '\n' ' ')" = "b dir filebelow same t " ]
	# stat (LOOKUP) and ls -l (READDIRPLUS) agree with the winning file.
	[ "$(stat -c %s "$MNT/same")" -eq 4 ]
	ls -l "$MNT" | grep -qE '^-.* 4 .* same$'
}

@test "char-0/0 and .wh. whiteouts hide lower files and are never listed" {
	echo hidden >"$L2/gone-ovl"
	echo hidden >"$L2/gone-oci"
	echo kept >"$L2/kept"
	mknod "$L1/gone-ovl" c 0 0
	touch "$L1/.wh.gone-oci"
	mkdir "$L1/d" "$L2/d"
	echo x >"$L2/d/sub"
	touch "$L1/d/.wh.sub"
	fbx -o lowerdir="$L1:$L2" "$MNT"
	[ ! -e "$MNT/gone-ovl" ]
	[ ! -e "$MNT/gone-oci" ]
	[ ! -e "$MNT/.wh.gone-oci" ]
	[ ! -e "$MNT/d/sub" ]
	[ "$(ls -A "$MNT" | tr '\n' ' ')" = "d kept " ]
	[ -z "$(ls -A "$MNT/d")" ]
	run cat "$MNT/gone-ovl"
	[ "$status" -ne 0 ]
	[[ "$output" == *"No such file or directory"* ]]
}

@test "a whiteout hides only the layers below it: the same layer's file stays" {
	echo mine >"$L1/both"
	touch "$L1/.wh.both"
	echo below >"$L2/both"
	fbx -o lowerdir="$L1:$L2" "$MNT"
	[ "$(cat "$MNT/both")" = mine ]
	[ "$(ls -A "$MNT")" = both ]
}

@test "opaque directories (xattr variants and .wh..wh..opq) hide the lower entries" {
	local d
	for d in trusted user fuseoverlayfs oci plain; do
		mkdir "$L1/$d" "$L2/$d"
		echo up >"$L1/$d/upper"
		echo low >"$L2/$d/lower"
	done
	setxattr "$L1/trusted" trusted.overlay.opaque y
	setxattr "$L1/user" user.overlay.opaque y
	setxattr "$L1/fuseoverlayfs" user.fuseoverlayfs.opaque y
	touch "$L1/oci/.wh..wh..opq"
	fbx -o lowerdir="$L1:$L2" "$MNT"
	for d in trusted user fuseoverlayfs oci; do
		[ "$(ls -A "$MNT/$d")" = upper ]
		[ ! -e "$MNT/$d/lower" ]
	done
	[ "$(ls -A "$MNT/plain" | tr '\n' ' ')" = "lower upper " ]
	# The overlay's private attributes are never shown.
	run getfattr_list "$MNT/trusted"
	[[ "$output" != *overlay* ]]
}

getfattr_list() {
	python3 -c 'import os, sys; print(os.listxattr(sys.argv[1]))' "$1"
}

@test "extended attributes show, except the overlay's private ones" {
	echo x >"$L1/f"
	setxattr "$L1/f" user.visible yes
	setxattr "$L1/f" user.overlay.secret no
	setxattr "$L1/f" trusted.overlay.origin no
	fbx -o lowerdir="$L1" "$MNT"
	run getfattr_list "$MNT/f"
	[ "$output" = "['user.visible']" ]
	run python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.visible").decode())' "$MNT/f"
	[ "$output" = yes ]
	run python3 -c 'import os, sys; os.getxattr(sys.argv[1], "user.overlay.secret")' "$MNT/f"
	[ "$status" -ne 0 ]
	[[ "$output" == *"No data available"* ]]
}

@test "other users get the lower's permissions: mode bits and POSIX ACLs" {
	chmod 755 "$T"
	mkdir "$L1/d"
	echo acl >"$L1/d/by-acl"
	echo secret >"$L1/d/private"
	echo public >"$L1/d/public"
	chmod 600 "$L1/d/by-acl" "$L1/d/private"
	# user::rw- user:65534:r-- group::--- mask::r-- other::---
	python3 -c '
import os, struct, sys
ents = [(1, 6, 0xffffffff), (2, 4, 65534), (4, 0, 0xffffffff), (0x10, 4, 0xffffffff), (0x20, 0, 0xffffffff)]
os.setxattr(sys.argv[1], "system.posix_acl_access",
            struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in ents))' "$L1/d/by-acl"
	fbx -o lowerdir="$L1",allow_other "$MNT"
	local as_nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
	[ "$($as_nobody cat "$MNT/d/public")" = public ]
	[ "$($as_nobody cat "$MNT/d/by-acl")" = acl ]
	run $as_nobody cat "$MNT/d/private"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
	# The same answers as on the lower directory itself.
	[ "$($as_nobody cat "$L1/d/by-acl")" = acl ]
	run $as_nobody cat "$L1/d/private"
	[ "$status" -ne 0 ]
}

@test "writes fail with EROFS, both on the default ro mount and on -o rw" {
	local opt
	echo x >"$L1/f"
	mkdir "$L1/d"
	for opt in "" ",rw"; do
		fbx -o lowerdir="$L1$opt" "$MNT"
		run sh -c "echo y >'$MNT/new'"
		[[ "$output" == *"Read-only file system"* ]]
		run sh -c "echo y >>'$MNT/f'"
		[[ "$output" == *"Read-only file system"* ]]
		run rm "$MNT/f"
		[[ "$output" == *"Read-only file system"* ]]
		run chmod 600 "$MNT/f"
		[[ "$output" == *"Read-only file system"* ]]
		run mkdir "$MNT/d2"
		[[ "$output" == *"Read-only file system"* ]]
		run mv "$MNT/f" "$MNT/d/f"
		[[ "$output" == *"Read-only file system"* ]]
		run ln -s x "$MNT/sl"
		[[ "$output" == *"Read-only file system"* ]]
		[ "$(cat "$L1/f")" = x ]
		umount "$MNT"
	done
	# -o rw reaches the daemon: the kernel shows the mount writable.
	fbx -o lowerdir="$L1",rw "$MNT"
	findmnt -n -o OPTIONS "$MNT" | grep -q '^rw'
}

@test "symlinks read back their target text" {
	ln -s target-file "$L1/rel"
	ln -s /etc/passwd "$L1/abs"
	ln -s ../../../../../.. "$L1/up"
	echo t >"$L1/target-file"
	fbx -o lowerdir="$L1" "$MNT"
	[ "$(readlink "$MNT/rel")" = target-file ]
	[ "$(readlink "$MNT/abs")" = /etc/passwd ]
	[ "$(readlink "$MNT/up")" = ../../../../../.. ]
	[ "$(cat "$MNT/rel")" = t ]
	[ -L "$MNT/abs" ]
}

@test "a symlink in a lower layer never leads the daemon out of the layer" {
	mkdir "$L1/x"
	echo a >"$L1/x/a"
	ln -s /etc "$L2/x"
	# Deeper: the symlink is an inner component in the lower layer.
	mkdir -p "$L1/y/z" "$L2/y"
	echo b >"$L1/y/z/b"
	ln -s /etc "$L2/y/z"
	fbx -o lowerdir="$L1:$L2" "$MNT"
	[ "$(ls -A "$MNT/x")" = a ]
	[ "$(ls -A "$MNT/y/z")" = b ]
	[ ! -e "$MNT/x/passwd" ]
	[ ! -e "$MNT/y/z/passwd" ]
	[ -d "$MNT/x" ] && [ ! -L "$MNT/x" ]
}

@test "a directory swapped for a symlink under the running daemon is not followed" {
	mkdir -p "$L1/x" "$L2/x/y" "$L2/inner/y" "$T/outside/y"
	echo a >"$L1/x/a"
	echo b >"$L2/x/y/b"
	echo in >"$L2/inner/y/in"
	echo out >"$T/outside/y/out"
	fbx -o lowerdir="$L1:$L2" "$MNT"
	[ "$(ls "$MNT/x" | tr '\n' ' ')" = "a y " ]
	[ "$(ls "$MNT/x/y")" = b ]
	# Layers are immutable; if one changes anyway, the daemon follows no
	# symlink on its way to a cached directory: not to a directory inside
	# the layer, not out of it.
	rm -r "$L2/x"
	ln -s inner "$L2/x"
	[ ! -e "$MNT/x/y/in" ]
	rm "$L2/x"
	ln -s "$T/outside" "$L2/x"
	[ ! -e "$MNT/x/y/out" ]
}

@test "a tree with more files than the daemon's RLIMIT_NOFILE reads completely" {
	local i pid
	mkdir -p "$L1/d" "$L2/d"
	for i in $(seq 3000); do echo "file $i" >"$L1/d/f$i"; done
	for i in $(seq 0 10 3000); do echo "low $i" >"$L2/d/f$i" && echo "low $i" >"$L2/d/g$i"; done
	prlimit --nofile=1024 "$FUSEBOXD" -o lowerdir="$L1:$L2" "$MNT" 3>&-
	pid=$(our_daemons)
	grep -E '^Max open files +1024 +1024 ' "/proc/$pid/limits"
	[ "$(ls "$MNT/d" | wc -l)" -eq 3302 ]
	for i in $(seq 3000); do echo "file $i"; done >"$T/want"
	for i in $(seq 0 10 3000); do echo "low $i"; done >>"$T/want"
	(cd "$MNT/d" && { seq -f 'f%g' 3000 && seq -f 'g%g' 0 10 3000; } | xargs cat) >"$T/got"
	cmp "$T/want" "$T/got"
	# Only transient fds: far below the limit with 3301 inodes cached.
	[ "$(ls "/proc/$pid/fd" | wc -l)" -lt 64 ]
}

@test "nodes are freed when the kernel forgets them, and files read again afterwards" {
	local i left
	mkdir -p "$L1/d/e"
	for i in $(seq 2000); do echo "$i" >"$L1/d/e/f$i"; done
	start_fg "$T/log" -d -o lowerdir="$L1" "$MNT"
	(cd "$MNT/d/e" && cat f*) >"$T/first"
	[ "$(wc -l <"$T/first")" -eq 2000 ]
	# Dentries and inodes only (2), not the page cache.
	echo 2 >/proc/sys/vm/drop_caches
	for i in $(seq 100); do
		left=$(grep -ao 'node(s) freed, [0-9]* left' "$T/log" | tail -1 | awk '{print $3}')
		[ -n "$left" ] && [ "$left" -le 2 ] && break
		sleep 0.05
	done
	echo "nodes left: $left"
	[ "$left" -le 2 ]
	(cd "$MNT/d/e" && cat f*) >"$T/again"
	cmp "$T/first" "$T/again"
}

@test "with passthrough, reads send no FUSE_READ and open files hold no daemon fd" {
	local i
	head -c 1000000 /dev/urandom >"$L1/big"
	for i in $(seq 1500); do echo "$i" >"$L1/f$i"; done
	start_fg "$T/log" -d -o lowerdir="$L1" "$MNT"
	if ! grep -q 'passthrough: on' "$T/log"; then
		skip "passthrough not active: $(grep -a 'passthrough:' "$T/log")"
	fi
	cmp "$L1/big" "$MNT/big"
	opcodes "$T/log" | grep -q '^OPEN '
	refute_opcode "$T/log" READ
	# 1500 files open at once through a daemon limited to 1024 fds.
	umount "$MNT"
	wait "$DPID"
	prlimit --nofile=1024 "$FUSEBOXD" -o lowerdir="$L1" "$MNT" 3>&-
	run python3 -c '
import os, sys
fds = [os.open(os.path.join(sys.argv[1], "f%d" % i), os.O_RDONLY) for i in range(1, 1501)]
print(sum(int(os.read(fd, 16)) for fd in fds))' "$MNT"
	[ "$status" -eq 0 ]
	[ "$output" -eq $((1500 * 1501 / 2)) ]
}

# opens_measured N GAP [CPU]: one process (on CPU if given) opens and closes
# $MNT/f N times, GAP seconds apart; sets sleeps (how often the daemon $DPID
# went to sleep) and ticks (the CPU time it used, in clock ticks) over those.
opens_measured() {
	local s0 t0 pin=()
	[ -z "${3:-}" ] || pin=(taskset -c "$3")
	s0=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$DPID/status")
	t0=$(awk '{ print $14 + $15 }' "/proc/$DPID/stat")
	"${pin[@]}" python3 -c '
import os, sys, time
for _ in range(int(sys.argv[2])):
    os.close(os.open(sys.argv[1], os.O_RDONLY))
    if float(sys.argv[3]):
        time.sleep(float(sys.argv[3]))' "$MNT/f" "$1" "$2"
	sleeps=$(($(awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$DPID/status") - s0))
	ticks=$(($(awk '{ print $14 + $15 }' "/proc/$DPID/stat") - t0))
	echo "$1 opens $2 s apart: $sleeps sleeps, $ticks ticks" >&3
}

# spin_daemon USEC: start the daemon with --spin=USEC over $L1.
spin_daemon() {
	start_fg "$T/log" --spin="$1" -o lowerdir="$L1" "$MNT"
	cat "$MNT/f" >/dev/null
}

# stop_daemon: SIGTERM must end it with nothing left mounted.
stop_daemon() {
	kill -TERM "$DPID"
	wait_status "$DPID"
	[ "$st" -eq 0 ]
	refute_mounted
}

# refuses_count OPT MIN MAX: values out of range or not numbers get one line
# naming them, exit 2, nothing mounted.
refuses_count() {
	local v
	for v in $(($2 - 1)) $(($3 + 1)) abc ""; do
		run fbx "$1=$v" -o lowerdir="$L1" "$MNT"
		[ "$status" -eq 2 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"$1: '$v' is not a number from $2 to $3"* ]]
		refute_mounted
	done
}

@test "--spin: the daemon looks for the next request before it sleeps; bad values are refused" {
	echo data >"$L1/f"
	# Without spinning it sleeps between a file's requests (on a quiet
	# machine about once per open; less when busy CPUs delay its reads).
	spin_daemon 0
	opens_measured 500 0
	local n0=$sleeps
	stop_daemon
	# Looking for up to 1 ms, it finds the next request (sent some tens of
	# microseconds later) queued, nearly always.
	spin_daemon 1000
	opens_measured 500 0
	[ "$sleeps" -lt 100 ]
	[ "$n0" -gt $((2 * sleeps + 10)) ]
	stop_daemon
	refuses_count --spin 0 1000
}

@test "--spin: requests further apart than the ceiling cost no spinning" {
	echo data >"$L1/f"
	# 300 opens 3 ms apart: a daemon that looked for 1 ms after each request
	# would burn 300 ms of CPU (30 ticks at 100 Hz); this one learns that
	# looking does not pay and stops. Its own work for 600 requests is a few
	# milliseconds.
	spin_daemon 1000
	opens_measured 300 0.003
	[ "$sleeps" -ge 300 ]
	[ "$ticks" -lt 10 ]
	# Requests 0.3 ms apart are worth looking for: it sleeps far less often.
	opens_measured 300 0.0003
	[ "$sleeps" -lt 150 ]
	stop_daemon
}

@test "--spin: a daemon allowed only one CPU never looks for the next request" {
	echo data >"$L1/f"
	[ "$(nproc --all)" -ge 2 ]
	# Started on CPU 0 alone (this test's shell is pinned, the daemon
	# inherits it), it would hold that CPU while the next request waited for
	# it. The opener runs on CPU 1, where a looking daemon would find its
	# requests queued (the first --spin test: < 100 sleeps).
	taskset -p -c 0 "$BASHPID" >/dev/null
	spin_daemon 1000
	opens_measured 500 0 1
	[ "$sleeps" -ge 250 ]
	stop_daemon
}

# resident FILE...: how many of the files have their first page in the page cache.
resident() {
	fincore --noheadings --raw --output PAGES "$@" | awk '$1 > 0 { n++ } END { print n + 0 }'
}

# prefetch_layer: a lower on its own small ext4 (page cache that can be
# dropped, unlike tmpfs): $L/d holds f1..f30 (8 KiB), big (256 KiB) and a fifo.
prefetch_layer() {
	truncate -s 64M "$T/disk.img"
	mkfs.ext4 -q -F "$T/disk.img"
	mkdir "$T/disk"
	mount -o loop "$T/disk.img" "$T/disk"
	L=$T/disk/l
	mkdir -p "$L/d"
	for i in $(seq 30); do head -c 8192 /dev/urandom >"$L/d/f$i"; done
	head -c 262144 /dev/urandom >"$L/d/big"
	mkfifo "$L/d/fifo"
}

# wait_resident N FILE...: until N of the files are in the page cache (5 s
# at most), then assert that they are.
wait_resident() {
	local n=$1 i
	shift
	for i in $(seq 50); do [ "$(resident "$@")" = "$n" ] && break; sleep 0.1; done
	[ "$(resident "$@")" = "$n" ]
}

# drop_pages FILE...: evict the files from the page cache.
drop_pages() {
	sync -f "$1"
	python3 -c '
import os, sys
for p in sys.argv[1:]:
    fd = os.open(p, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)' "$@"
	[ "$(resident "$@")" = 0 ]
}

@test "--prefetch: a second cold open in a lower directory reads its small files ahead; 0 is off" {
	local others
	prefetch_layer
	others=$(seq -f "$L/d/f%g" 3 30)
	drop_pages "$L"/d/f[0-9]* "$L/d/big"
	start_fg "$T/log" -o lowerdir="$L" "$MNT"
	# One file opened is no pattern yet.
	cat "$MNT/d/f1" >/dev/null
	sleep 0.5
	[ "$(resident $others)" = 0 ]
	# A second one is: the other 28 small files follow, not the large one.
	cat "$MNT/d/f2" >/dev/null
	wait_resident 28 $others
	[ "$(resident "$L/d/big")" = 0 ]
	cmp "$L/d/f30" "$MNT/d/f30"
	stop_daemon

	# With noopen the daemon sees READs, not OPENs: the same.
	drop_pages "$L"/d/f[0-9]* "$L/d/big"
	start_fg "$T/log" -o lowerdir="$L",noopen "$MNT"
	cat "$MNT/d/f1" "$MNT/d/f2" >/dev/null
	wait_resident 28 $others
	stop_daemon

	drop_pages "$L"/d/f[0-9]* "$L/d/big"
	start_fg "$T/log" --prefetch=0 -o lowerdir="$L" "$MNT"
	cat "$MNT/d/f1" "$MNT/d/f2" >/dev/null
	sleep 0.5
	[ "$(resident $others)" = 0 ]
	stop_daemon
	refuses_count --prefetch 0 4096
}

@test "--prefetch reads ahead only in lower layers, never files written in the upper" {
	local i
	prefetch_layer
	mkdir -p "$T/disk/u" "$T/disk/w"
	start_fg "$T/log" -o lowerdir="$L",upperdir="$T/disk/u",workdir="$T/disk/w" "$MNT"
	mkdir "$MNT/new"
	for i in $(seq 10); do head -c 8192 /dev/urandom >"$MNT/new/g$i"; done
	drop_pages "$T"/disk/u/new/g*
	# The kernel keeps the pages it wrote through passthrough: evicted above,
	# they must not come back by themselves.
	cat "$MNT/new/g1" "$MNT/new/g2" >/dev/null
	sleep 0.5
	[ "$(resident $(seq -f "$T/disk/u/new/g%g" 3 10))" = 0 ]
}

@test "an unknown option gives one line naming it, exit 2, nothing mounted" {
	run fbx -o lowerdir="$L1",frobnicate "$MNT"
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"unknown option 'frobnicate'"* ]]
	refute_mounted
	run fbx --bogus -o lowerdir="$L1" "$MNT"
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"'--bogus'"* ]]
	refute_mounted
}

@test "podman's mount_program options are accepted: SELinux contexts go to the kernel, volatile and fsync=0" {
	# Without SELinux the kernel itself refuses a context (podman passes one only with it).
	run fbx -o lowerdir="$L1",context=system_u:object_r:container_file_t:s0 "$MNT"
	[ "$status" -eq 1 ]
	[[ "$output" != *"unknown option"* ]]
	[[ "$output" == *"mount failed: Invalid argument"* ]]
	refute_mounted
	fbx -o lowerdir="$L1",upperdir="$U",workdir="$W",volatile,fsync=0,nodev "$MNT"
	echo x >"$MNT/f"
	sync "$MNT/f"
	[ "$(cat "$U/f")" = x ]
}

@test "a missing lowerdir, a relative one, or an upperdir without workdir is refused in one line, nothing mounted" {
	run fbx "$MNT"
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"lowerdir"* ]]
	run fbx -o lowerdir=relative/dir "$MNT"
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	run fbx -o lowerdir="$L1",upperdir="$L2" "$MNT"
	[ "$status" -eq 2 ]
	[ "$output" = "fuseboxd: upperdir= and workdir= go together" ]
	run fbx -o lowerdir="$L1",upperdir=relative,workdir="$L3" "$MNT"
	[ "$status" -eq 2 ]
	[ "$output" = "fuseboxd: upperdir: 'relative' is not an absolute path" ]
	run fbx -o lowerdir="$T/nonexistent" "$MNT"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"$T/nonexistent"* ]]
	refute_mounted
	[ -z "$(our_daemons)" ]
}

@test "--ready-fd writes ready once mounted; a failed start closes it without a word" {
	local line
	echo x >"$L1/f"
	mkfifo "$T/ready"
	"$FUSEBOXD" -f --ready-fd=5 -o lowerdir="$L1" "$MNT" 5>"$T/ready" 2>"$T/log" 3>&- &
	DPID=$!
	read -r -t 10 line <"$T/ready"
	[ "$line" = ready ]
	mountpoint -q "$MNT"
	[ "$(cat "$MNT/f")" = x ]
	umount "$MNT"
	wait "$DPID"

	"$FUSEBOXD" -f --ready-fd=5 -o lowerdir="$T/nonexistent" "$MNT" 5>"$T/ready" 2>"$T/log" 3>&- &
	DPID=$!
	run timeout 10 cat "$T/ready"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	wait_status "$DPID"
	[ "$st" -eq 1 ]
	refute_mounted
}

@test "unmounting ends the daemon with status 0 and leaves no fuseboxd" {
	echo x >"$L1/f"
	start_fg "$T/log" -o lowerdir="$L1" "$MNT"
	cat "$MNT/f"
	umount "$MNT"
	wait_status "$DPID"
	[ "$st" -eq 0 ]
	[ -z "$(our_daemons)" ]
	# The daemonized form too.
	fbx -o lowerdir="$L1" "$MNT"
	[ -n "$(our_daemons)" ]
	umount "$MNT"
	for i in $(seq 50); do [ -z "$(our_daemons)" ] && break; sleep 0.1; done
	[ -z "$(our_daemons)" ]
}

@test "SIGTERM unmounts and exits 0" {
	echo x >"$L1/f"
	start_fg "$T/log" -o lowerdir="$L1" "$MNT"
	cat "$MNT/f"
	kill -TERM "$DPID"
	wait_status "$DPID"
	[ "$st" -eq 0 ]
	refute_mounted
}

# fdmount.py [--ns PID] MNT DAEMON ARGS...: open /dev/fuse, mount it on MNT
# (in PID's mount namespace if given), then exec DAEMON ARGS... /dev/fd/N,
# the way the OCI hook hands a connection to fuseboxd.
write_fdmount() {
	cat >"$T/fdmount.py" <<'PY'
import ctypes, os, sys
args = sys.argv[1:]
ns = None
if args[0] == "--ns":
    ns, args = int(args[1]), args[2:]
mnt, daemon = args[0], args[1:]
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open("/dev/fuse", os.O_RDWR)
os.set_inheritable(fd, True)
data = ("fd=%d,rootmode=40000,user_id=0,group_id=0,default_permissions" % fd).encode()
def do_mount():
    if libc.mount(b"fusebox-test", mnt.encode(), b"fuse.fuseboxd", 1 | 2 | 4, data) != 0:
        sys.exit("mount: " + os.strerror(ctypes.get_errno()))
if ns is None:
    do_mount()
else:
    pid = os.fork()
    if pid == 0:
        nsfd = os.open("/proc/%d/ns/mnt" % ns, os.O_RDONLY)
        if libc.setns(nsfd, 0x00020000) != 0:
            sys.exit("setns: " + os.strerror(ctypes.get_errno()))
        do_mount()
        os._exit(0)
    if os.waitpid(pid, 0)[1] != 0:
        sys.exit(1)
os.execv(daemon[0], daemon + ["/dev/fd/%d" % fd])
PY
}

@test "/dev/fd/N: fuseboxd serves a connection mounted by its caller" {
	echo via-fd >"$L1/f"
	write_fdmount
	python3 "$T/fdmount.py" "$MNT" "$FUSEBOXD" -f -o lowerdir="$L1" 2>"$T/log" 3>&- &
	DPID=$!
	for i in $(seq 100); do mountpoint -q "$MNT" && break; sleep 0.05; done
	[ "$(cat "$MNT/f")" = via-fd ]
	[ "$(findmnt -n -o SOURCE "$MNT")" = fusebox-test ]
	umount "$MNT"
	wait_status "$DPID"
	[ "$st" -eq 0 ]
}

@test "when the mount namespace holding the mount dies, the daemon exits 0" {
	echo x >"$L1/f"
	write_fdmount
	unshare -m --propagation private sleep 1000 3>&- &
	HOLDER=$!
	sleep 0.2
	python3 "$T/fdmount.py" --ns "$HOLDER" "$MNT" "$FUSEBOXD" -f -o lowerdir="$L1" \
		2>"$T/log" 3>&- &
	DPID=$!
	for i in $(seq 100); do
		nsenter -t "$HOLDER" -m mountpoint -q "$MNT" && break
		sleep 0.05
	done
	[ "$(nsenter -t "$HOLDER" -m cat "$MNT/f")" = x ]
	# Mounted in that namespace only.
	refute_mounted
	kill "$HOLDER"
	wait "$HOLDER" || true
	HOLDER=
	run timeout 10 tail --pid="$DPID" -f /dev/null
	[ "$status" -eq 0 ]
	wait_status "$DPID"
	[ "$st" -eq 0 ]
}
