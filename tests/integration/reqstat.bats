#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# `fuseboxctl reqstat` counts the FUSE requests the kernel sends while a command
# runs (bpf/fusereq.bpf.c on tp_btf/fuse_request_send), on real FUSE mounts:
# fuse-overlayfs, and fuseboxd when it is built.

bats_require_minimum_version 1.5.0

setup() {
	SRC=${FUSEBOX_SRC:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	O=${O:-build}
	case "$O" in /*) ;; *) O=$SRC/$O ;; esac
	CTL=$O/fuseboxctl
	[ -x "$CTL" ] || { echo "$CTL is not built" >&2; return 1; }
	T=$(mktemp -d /tmp/fusebox-reqstat.XXXXXX)
	mkdir "$T/lower" "$T/upper" "$T/work" "$T/mnt"
	printf 'some data\n' >"$T/lower/file"
}

teardown() {
	local m
	for m in "$T/mnt" "$T/mnt2"; do
		if mountpoint -q "$m"; then
			umount "$m" || umount -l "$m"
		fi
	done
	rm -rf "$T"
}

mount_fuse_overlayfs() {
	fuse-overlayfs -o "lowerdir=$T/lower,upperdir=$T/upper,workdir=$T/work" "$T/mnt"
	mountpoint -q "$T/mnt"
}

# count OPCODE: requests of that opcode in $T/out.json (0 when absent)
count() {
	jq -r --arg op "$1" '.requests[$op].count // 0' "$T/out.json"
}

@test "a cold cat on fuse-overlayfs sends LOOKUP and OPEN or READ on that connection" {
	mount_fuse_overlayfs
	run "$CTL" reqstat --json --output "$T/out.json" --mount "$T/mnt" -- cat "$T/mnt/file"
	[ "$status" -eq 0 ]
	[ "$output" = "some data" ]
	[ "$(jq -r .exit_status "$T/out.json")" = 0 ]
	[ "$(jq -r .mount "$T/out.json")" = "$T/mnt" ]
	[ "$(count LOOKUP)" -ge 1 ]
	[ $(($(count OPEN) + $(count READ))) -ge 1 ]
	# The total is the sum of the rows.
	[ "$(jq '[.requests[].count] | add' "$T/out.json")" = "$(jq .total "$T/out.json")" ]
}

@test "requests on another FUSE mount or another file system are not counted" {
	mount_fuse_overlayfs
	mkdir "$T/upper2" "$T/work2" "$T/mnt2"
	fuse-overlayfs -o "lowerdir=$T/lower,upperdir=$T/upper2,workdir=$T/work2" "$T/mnt2"
	cat "$T/mnt/file" >/dev/null # the connection is live and has served requests
	run "$CTL" reqstat --json --output "$T/out.json" --mount "$T/mnt" -- \
		cat "$T/mnt2/file" /etc/os-release
	[ "$status" -eq 0 ]
	[ "$(jq .total "$T/out.json")" = 0 ]
	[ "$(jq '.requests | length' "$T/out.json")" = 0 ]
	# The same command, counted on the connection it used.
	run "$CTL" reqstat --json --output "$T/out.json" --mount "$T/mnt2" -- \
		cat "$T/mnt2/file" /etc/os-release
	[ "$status" -eq 0 ]
	[ "$(jq .total "$T/out.json")" -ge 1 ]
}

@test "a directory listing shows up as OPENDIR and READDIR or READDIRPLUS" {
	mount_fuse_overlayfs
	run "$CTL" reqstat --json --output "$T/out.json" --mount "$T/mnt" -- ls "$T/mnt"
	[ "$status" -eq 0 ]
	[ "$output" = "file" ]
	[ "$(count OPENDIR)" -ge 1 ]
	[ $(($(count READDIR) + $(count READDIRPLUS))) -ge 1 ]
	[ "$(count READ)" = 0 ]
}

@test "without --mount every FUSE connection counts, and the text summary has a total" {
	mount_fuse_overlayfs
	run "$CTL" reqstat -- cat "$T/mnt/file"
	[ "$status" -eq 0 ]
	[[ "$output" == *"some data"* ]]
	[[ "$output" == *"FUSE requests on all connections"* ]]
	[[ "$output" =~ LOOKUP\ +[1-9] ]]
	[[ "$output" =~ total\ +[1-9] ]]
}

@test "the command's exit status is passed through" {
	run "$CTL" reqstat --output "$T/out.txt" -- sh -c 'exit 7'
	[ "$status" -eq 7 ]
	grep -q '^total' "$T/out.txt"
}

@test "--mount on a directory that is not FUSE is refused with its name" {
	run "$CTL" reqstat --mount "$T/lower" -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"$T/lower is not on a FUSE file system"* ]]
}

@test "a missing command exits 127 and names the command" {
	run -127 "$CTL" reqstat -- /nonexistent/fusebox-cmd
	[ "$status" -eq 127 ]
	[[ "$output" == *"cannot run /nonexistent/fusebox-cmd"* ]]
}

@test "a cold cat on fuseboxd sends LOOKUP and OPEN or READ on that connection" {
	[ -x "$O/fuseboxd" ] || skip "fuseboxd is not built"
	"$O/fuseboxd" -o "lowerdir=$T/lower" "$T/mnt"
	mountpoint -q "$T/mnt"
	run "$CTL" reqstat --json --output "$T/out.json" --mount "$T/mnt" -- cat "$T/mnt/file"
	[ "$status" -eq 0 ]
	[ "$output" = "some data" ]
	[ "$(count LOOKUP)" -ge 1 ]
	[ $(($(count OPEN) + $(count READ))) -ge 1 ]
}

# strace_daemon LOG [CALLS]: trace the system calls (default: opens, ioctls and
# closes) of the fuseboxd on $T/mnt into LOG until strace_stop; returns once
# strace is attached.
strace_daemon() {
	local pid i
	pid=$(pgrep -f -- "fuseboxd .*$T/mnt")
	strace -f -qq -o "$1" -e trace="${2:-openat,openat2,ioctl,close}" -p "$pid" 2>"$T/strace.err" &
	STRACE=$!
	for i in $(seq 100); do
		# -qq hides the message: wait for the tracer to stop the daemon once.
		grep -q "TracerPid:[[:space:]]*$STRACE" "/proc/$pid/status" && return 0
		sleep 0.05
	done
	return 1
}

strace_stop() {
	kill -INT "$STRACE"
	wait "$STRACE" || true
}

@test "fuseboxd: a lower file opened again costs the daemon no open, backing ioctl or close" {
	[ -x "$O/fuseboxd" ] || skip "fuseboxd is not built"
	"$O/fuseboxd" -o "lowerdir=$T/lower" "$T/mnt"
	mountpoint -q "$T/mnt"
	cat "$T/mnt/file" >/dev/null # the first open registers the backing file
	strace_daemon "$T/trace"
	run "$CTL" reqstat --json --output "$T/out.json" --mount "$T/mnt" -- \
		sh -c "for i in \$(seq 20); do cat '$T/mnt/file'; done"
	strace_stop
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | sort -u)" = "some data" ]
	# Every open reached the daemon, which answered each from the kept backing id.
	[ "$(count OPEN)" = 20 ]
	[ "$(count RELEASE)" = 20 ]
	run cat "$T/trace"
	[ "$output" = "" ]
}

@test "fuseboxd: an upper file's backing file is closed at its last release; a copy-up drops the lower's" {
	[ -x "$O/fuseboxd" ] || skip "fuseboxd is not built"
	"$O/fuseboxd" -o "lowerdir=$T/lower,upperdir=$T/upper,workdir=$T/work" "$T/mnt"
	mountpoint -q "$T/mnt"
	cat "$T/mnt/file" >/dev/null # the lower file's backing id is kept
	strace_daemon "$T/trace"
	echo more >>"$T/mnt/file" # copy-up: the lower's id goes, the upper's comes
	for i in 1 2 3; do cat "$T/mnt/file" >/dev/null; done
	# The last RELEASE reaches the daemon after cat has exited.
	for i in $(seq 50); do
		[ "$(grep -c 'ioctl(.*0xe5, 0x2' "$T/trace")" -ge 5 ] && break
		sleep 0.1
	done
	strace_stop
	[ "$(cat "$T/mnt/file")" = "$(printf 'some data\nmore')" ]
	[ "$(cat "$T/lower/file")" = "some data" ]
	# BACKING_CLOSE of the lower's id, then one BACKING_OPEN and one
	# BACKING_CLOSE per open of the upper file (the append and three cats).
	[ "$(grep -c 'ioctl(.*0xe5, 0x1' "$T/trace")" = 4 ]
	[ "$(grep -c 'ioctl(.*0xe5, 0x2' "$T/trace")" = 5 ]
}

@test "fuseboxd -o noopen: reads of up to a megabyte are spliced from the layer, not copied through the daemon" {
	[ -x "$O/fuseboxd" ] || skip "fuseboxd is not built"
	head -c $((16 << 20)) /dev/urandom >"$T/lower/big"
	"$O/fuseboxd" -o "lowerdir=$T/lower,noopen" "$T/mnt"
	mountpoint -q "$T/mnt"
	strace_daemon "$T/trace" splice,pread64,preadv,preadv2,read
	run "$CTL" reqstat --json --output "$T/out.json" --mount "$T/mnt" -- \
		dd if="$T/mnt/big" of="$T/copy" bs=1M iflag=direct
	strace_stop
	[ "$status" -eq 0 ]
	cmp "$T/lower/big" "$T/copy"
	# O_DIRECT: one READ per megabyte asked, split at the largest READ the
	# daemon allows (252 pages, so that a reply fits the 1 MiB pipe that
	# splice goes through without CAP_SYS_RESOURCE).
	[ "$(count READ)" -ge 16 ]
	# Each READ is spliced from the layer file into a pipe and on to
	# /dev/fuse; none is read into the daemon's memory (pread) first.
	[ "$(grep -c '^[0-9]* *splice(' "$T/trace")" -ge $((2 * $(count READ))) ]
	! grep -E '^[0-9]* *(pread64|preadv2?)\(' "$T/trace"
}

# looked_ahead NAME...: which of the names the daemon opened as directories
# (in $T/trace), one per line.
looked_ahead() {
	local d
	for d; do
		grep -q "openat2\\?([0-9]*, \"$d\", .*O_DIRECTORY" "$T/trace" && echo "$d"
	done
	return 0
}

# walk_ahead_setup [OPT]: 20 subdirectories of a lower directory, each with a
# file; fuseboxd (with OPT) on it, traced; sets SUBS to the subdirectories in
# the layer's getdents order.
walk_ahead_setup() {
	local i
	mkdir "$T/lower/w"
	for i in $(seq -w 0 19); do
		mkdir "$T/lower/w/s$i"
		: >"$T/lower/w/s$i/f"
	done
	mapfile -t SUBS < <(ls -U "$T/lower/w")
	"$O/fuseboxd" ${1:+"$1"} -o "lowerdir=$T/lower" "$T/mnt"
	mountpoint -q "$T/mnt"
	strace_daemon "$T/trace" openat,openat2
	ls "$T/mnt/w" >/dev/null
}

@test "fuseboxd: a walk entering a second subdirectory looks up the next 8 ahead; one listing does not" {
	[ -x "$O/fuseboxd" ] || skip "fuseboxd is not built"
	walk_ahead_setup
	ls "$T/mnt/w/${SUBS[0]}" >/dev/null
	sleep 0.5
	# One subdirectory entered (ls of a directory and of one below it): no walk.
	[ -z "$(looked_ahead "${SUBS[@]:1}")" ]
	ls "$T/mnt/w/${SUBS[1]}" >/dev/null
	for i in $(seq 50); do
		[ "$(looked_ahead "${SUBS[@]:2:8}" | wc -l)" -eq 8 ] && break
		sleep 0.1
	done
	sleep 0.2
	strace_stop
	# The eight after the second, in the layer's order, and not the ninth.
	[ "$(looked_ahead "${SUBS[@]:2:8}" | wc -l)" -eq 8 ]
	[ -z "$(looked_ahead "${SUBS[@]:10}")" ]
	# Looked up, not opened: the files in them never are.
	! grep -q 'openat2\?([0-9]*, "f"' "$T/trace"
}

@test "fuseboxd --prefetch=0: no walk looks ahead" {
	[ -x "$O/fuseboxd" ] || skip "fuseboxd is not built"
	walk_ahead_setup --prefetch=0
	ls "$T/mnt/w/${SUBS[0]}" "$T/mnt/w/${SUBS[1]}" "$T/mnt/w/${SUBS[2]}" >/dev/null
	sleep 0.5
	strace_stop
	[ -z "$(looked_ahead "${SUBS[@]:3}")" ]
}

# tree N M: N directories of M empty files in $T/lower/tree.
tree() {
	local d
	mkdir "$T/lower/tree"
	for d in $(seq "$1"); do
		mkdir "$T/lower/tree/d$d"
		seq -f "$T/lower/tree/d$d/f%g" "$2" | xargs touch
	done
}

# walk: fuseboxctl reqstat of a stat walk of $T/mnt/tree (as make bench's), into $T/out.json.
walk() {
	"$CTL" reqstat --json --output "$T/out.json" --mount "$T/mnt" -- \
		find "$T/mnt/tree" -printf '%i %s %y\n' >"$T/walk.out"
	[ "$(wc -l <"$T/walk.out")" -eq $((1 + 5 + 5 * 40)) ]
}

# counts: "OPCODE=N ..." of $T/out.json, sorted; without STATFS, which find sends
# once per walk, whatever the tree.
counts() {
	jq -r '.requests | del(.STATFS) | to_entries | map("\(.key)=\(.value.count)") | sort | join(" ")' "$T/out.json"
}

@test "fuseboxd, cold walk: READDIRPLUS and READDIR once per directory; the only OPENDIR is answered ENOSYS" {
	[ -x "$O/fuseboxd" ] || skip "fuseboxd is not built"
	tree 5 40
	"$O/fuseboxd" -o "lowerdir=$T/lower" "$T/mnt"
	stat "$T/mnt/tree" >/dev/null
	walk
	# 6 directories: one listing with attributes, one read at its end. The kernel
	# opens directories itself after the ENOSYS: no RELEASEDIR, no LOOKUP.
	[ "$(counts)" = "OPENDIR=1 READDIR=6 READDIRPLUS=6" ]
	[ "$(jq .requests.OPENDIR.errors "$T/out.json")" = 1 ]
}

@test "fuseboxd, warm walk: no request per directory" {
	[ -x "$O/fuseboxd" ] || skip "fuseboxd is not built"
	tree 5 40
	"$O/fuseboxd" -o "lowerdir=$T/lower" "$T/mnt"
	walk
	walk
	[ "$(counts)" = "" ]
}

@test "fuseboxd under a policy that can deny read judges every directory open: OPENDIR and RELEASEDIR per directory" {
	[ -x "$O/fuseboxd" ] || skip "fuseboxd is not built"
	tree 5 40
	mkdir "$T/lower/secret"
	echo '{"mode": "enforce", "default": "allow", "rules": [{"path": "/app/secret", "deny": ["read"]}]}' >"$T/policy.json"
	"$O/fuseboxd" -o "lowerdir=$T/lower,policy=$T/policy.json,policy_root=/app" "$T/mnt"
	run ls "$T/mnt/secret"
	[ "$status" -ne 0 ]
	stat "$T/mnt/tree" >/dev/null
	walk
	[ "$(counts)" = "OPENDIR=6 READDIR=6 READDIRPLUS=6 RELEASEDIR=6" ]
	walk
	[ "$(counts)" = "OPENDIR=6 RELEASEDIR=6" ]
}

# new_files_cost MNT N: the requests of cp -r of N new 4 KiB files into a new
# directory of MNT, "OPCODE COUNT" lines in $T/cost.N.
new_files_cost() {
	local mnt=$1 n=$2 i
	mkdir -p "$T/src$n"
	for i in $(seq "$n"); do head -c 4096 /dev/urandom >"$T/src$n/f$i"; done
	"$CTL" reqstat --json --output "$T/out.json" --mount "$mnt" -- cp -r "$T/src$n" "$mnt/"
	jq -r '.requests | to_entries[] | "\(.key) \(.value.count)"' "$T/out.json" | sort >"$T/cost.$n"
}

# per_new_file MNT: what ten more new files cost, "OPCODE COUNT" lines.
per_new_file() {
	new_files_cost "$1" 10
	new_files_cost "$1" 20
	join -a 2 -e 0 -o 0,1.2,2.2 "$T/cost.10" "$T/cost.20" | awk '$3 != $2 { print $1, $3 - $2 }'
}

fuseboxd_rw() {
	[ -x "$O/fuseboxd" ] || skip "fuseboxd is not built"
	"$O/fuseboxd" -o "lowerdir=$T/lower,upperdir=$T/upper,workdir=$T/work${1:+,$1}" "$T/mnt"
	mountpoint -q "$T/mnt"
}

# The kernel's share, the least a new file can cost: the LOOKUP that finds the
# name free, a GETATTR of the directory (its attributes went stale with the
# previous CREATE, and default_permissions needs them), the CREATE, a GETXATTR
# of security.capability at the first write (file_remove_privs) and the
# RELEASE. No FLUSH (noflush), no OPEN, no SETATTR; no WRITE where the new
# file's data is passed through.
NEW_FILE_COST="CREATE 10
GETATTR 10
GETXATTR 10
LOOKUP 10
RELEASE 10"

@test "fuseboxd: each new 4 KiB file written by cp costs one LOOKUP, GETATTR, CREATE, GETXATTR and RELEASE" {
	fuseboxd_rw
	run per_new_file "$T/mnt"
	[ "$status" -eq 0 ]
	[ "$output" = "$NEW_FILE_COST" ]
	cmp "$T/src20/f20" "$T/mnt/src20/f20"
	cmp "$T/src20/f20" "$T/upper/src20/f20"
}

@test "fuseboxd: a new file costs a WRITE more without passthrough and with noopen" {
	fuseboxd_rw nopassthrough
	run per_new_file "$T/mnt"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '%s\nWRITE 10' "$NEW_FILE_COST")" ]
	umount "$T/mnt"
	rm -rf "$T/upper" "$T/work"
	mkdir "$T/upper" "$T/work"
	fuseboxd_rw noopen
	run per_new_file "$T/mnt"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '%s\nWRITE 10' "$NEW_FILE_COST")" ]
}

@test "fuseboxd: a file written in 64 write() calls is asked for security.capability once, not at every write" {
	fuseboxd_rw nopassthrough
	run "$CTL" reqstat --json --output "$T/out.json" --mount "$T/mnt" -- \
		dd if=/dev/zero of="$T/mnt/big" bs=4k count=64 status=none
	[ "$status" -eq 0 ]
	[ "$(count WRITE)" = 64 ]
	[ "$(count GETXATTR)" = 1 ]
	umount "$T/mnt"
	# With passthrough (no WRITE), a new file and one written again: once at
	# most, none while the kernel still has the inode.
	fuseboxd_rw
	run "$CTL" reqstat --json --output "$T/out.json" --mount "$T/mnt" -- \
		dd if=/dev/zero of="$T/mnt/big2" bs=4k count=64 status=none
	[ "$status" -eq 0 ]
	[ "$(count WRITE)" = 0 ]
	[ "$(count GETXATTR)" = 1 ]
	run "$CTL" reqstat --json --output "$T/out.json" --mount "$T/mnt" -- \
		dd if=/dev/zero of="$T/mnt/big" bs=4k count=64 conv=notrunc status=none
	[ "$status" -eq 0 ]
	[ "$(count WRITE)" = 0 ]
	[ "$(count GETXATTR)" -le 1 ]
}
