#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# fuseboxd with a writable upper layer, mounted standalone on a real FUSE mount:
# copy-up, whiteouts, opaque directories, renames, links, the operations a root
# file system needs, the upper's format shared with kernel overlayfs, and
# containment when the upper is tampered with. Runs as root.

load ../lib/fs

setup() {
	fs_setup
}

teardown() {
	fs_teardown
}

# stat_of PATH: the attributes a copy must keep.
stat_of() {
	stat -c '%f %u %g %s %Y' "$1"
}

@test "writing a lower file copies it up with its data, mode, owner, times and xattrs; the lower is untouched" {
	printf 'lower data\n' >"$L1/f"
	chown 1234:4321 "$L1/f"
	chmod 640 "$L1/f"
	touch -d '2001-02-03 04:05:06' "$L1/f"
	setxattr "$L1/f" user.color blue
	fbx_rw
	chmod 640 "$MNT/f" # a metadata change alone copies up
	[ -f "$U/f" ]
	[ "$(stat_of "$U/f")" = "$(stat_of "$L1/f")" ]
	[ "$(getfattr --only-values -n user.color "$U/f")" = blue ]
	echo more >>"$MNT/f"
	[ "$(cat "$MNT/f")" = "$(printf 'lower data\nmore')" ]
	[ "$(cat "$L1/f")" = "lower data" ]
	[ "$(stat -c %u:%g "$MNT/f")" = 1234:4321 ]
}

@test "a sparse lower file stays sparse when copied up" {
	truncate -s 64M "$L1/sparse"
	printf 'x' | dd of="$L1/sparse" bs=1 seek=$((32 << 20)) conv=notrunc status=none
	fbx_rw
	printf 'y' | dd of="$MNT/sparse" bs=1 seek=10 conv=notrunc status=none
	[ "$(stat -c %s "$U/sparse")" -eq $((64 << 20)) ]
	# A full copy would take 64 MiB; the data segments take a few blocks.
	[ "$(stat -c %b "$U/sparse")" -lt 1024 ]
	[ "$(dd if="$MNT/sparse" bs=1 skip=$((32 << 20)) count=1 status=none)" = x ]
}

@test "removing lower entries leaves char 0/0 whiteouts that hide them; the lowers are untouched" {
	echo a >"$L1/file"
	mkdir -p "$L2/dir/sub"
	echo b >"$L2/dir/sub/f"
	fbx_rw
	rm "$MNT/file"
	rm -r "$MNT/dir"
	[ ! -e "$MNT/file" ]
	[ ! -e "$MNT/dir" ]
	[ "$(ls -A "$MNT")" = "" ]
	[ "$(stat -c '%F %t:%T' "$U/file")" = "character special file 0:0" ]
	[ "$(stat -c '%F %t:%T' "$U/dir")" = "character special file 0:0" ]
	[ -f "$L1/file" ] && [ -f "$L2/dir/sub/f" ]
}

@test "a directory made again over a removed lower one is opaque: the old entries stay hidden" {
	mkdir "$L1/d"
	echo old >"$L1/d/old"
	fbx_rw
	rm -r "$MNT/d"
	mkdir "$MNT/d"
	echo new >"$MNT/d/new"
	[ "$(ls -A "$MNT/d")" = new ]
	[ "$(getfattr --only-values -n trusted.overlay.opaque "$U/d")" = y ]
	# The overlay's own markers are neither shown nor settable.
	run getfattr -n trusted.overlay.opaque "$MNT/d"
	[ "$status" -ne 0 ]
	run setfattr -n trusted.overlay.opaque -v y "$MNT/d"
	[ "$status" -ne 0 ]
}

@test "renames: over a lower file, from a lower file (whiteout left), upper dirs move, lower dirs give EXDEV" {
	echo src >"$L1/src"
	echo dst >"$L1/dst"
	mkdir -p "$L1/lowerdir"
	echo x >"$L1/lowerdir/x"
	fbx_rw
	mv "$MNT/src" "$MNT/dst"
	[ "$(cat "$MNT/dst")" = src ]
	[ ! -e "$MNT/src" ]
	[ "$(stat -c '%t:%T' "$U/src")" = 0:0 ]
	mkdir -p "$MNT/up/inner"
	echo i >"$MNT/up/inner/f"
	mv "$MNT/up" "$MNT/moved"
	[ "$(cat "$MNT/moved/inner/f")" = i ]
	[ ! -e "$MNT/up" ]
	run python3 -c 'import os, sys; os.rename(sys.argv[1], sys.argv[2])' "$MNT/lowerdir" "$MNT/other"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Invalid cross-device link"* ]]
	# mv falls back to copying, as on overlayfs.
	mv "$MNT/lowerdir" "$MNT/other"
	[ "$(cat "$MNT/other/x")" = x ]
	[ ! -e "$MNT/lowerdir" ]
}

@test "RENAME_NOREPLACE refuses an existing name; RENAME_EXCHANGE swaps a lower and an upper file" {
	echo lower >"$L1/a"
	fbx_rw
	echo upper >"$MNT/b"
	run "$TOOLS/renameat2" --noreplace "$MNT/b" "$MNT/a"
	[ "$status" -eq 1 ]
	[[ "$output" == *"File exists"* ]]
	"$TOOLS/renameat2" --exchange "$MNT/a" "$MNT/b"
	[ "$(cat "$MNT/a")" = upper ]
	[ "$(cat "$MNT/b")" = lower ]
	[ "$(cat "$L1/a")" = lower ]
}

@test "hard links share data and count links; a file unlinked while open keeps working, then leaves nothing" {
	echo one >"$L1/f"
	fbx_rw
	ln "$MNT/f" "$MNT/g"
	[ "$(stat -c %h "$MNT/f")" -eq 2 ]
	echo two >>"$MNT/g"
	[ "$(cat "$MNT/f")" = "$(printf 'one\ntwo')" ]
	python3 - "$MNT/f" "$MNT/g" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.unlink(sys.argv[1])
os.unlink(sys.argv[2])
assert not os.path.exists(sys.argv[1])
os.pwrite(fd, b"three", 0)
assert os.pread(fd, 64, 0).startswith(b"three"), os.pread(fd, 64, 0)
assert os.fstat(fd).st_nlink == 0, os.fstat(fd).st_nlink
os.close(fd)
EOF
	[ "$(ls -A "$MNT")" = "" ]
	umount "$MNT"
	[ "$(ls -A "$W/fuseboxd" 2>/dev/null)" = "" ]
}

@test "truncate, chmod, chown, utimens, fallocate, SEEK_DATA/SEEK_HOLE and copy_file_range" {
	head -c 100000 /dev/urandom >"$L1/data"
	fbx_rw
	python3 - "$MNT" <<'EOF'
import os, sys
m = sys.argv[1]
os.truncate(m + "/data", 5000)
assert os.stat(m + "/data").st_size == 5000
os.chmod(m + "/data", 0o600); assert os.stat(m + "/data").st_mode & 0o7777 == 0o600
os.chown(m + "/data", 7, 8); st = os.stat(m + "/data"); assert (st.st_uid, st.st_gid) == (7, 8)
os.utime(m + "/data", ns=(1000000000123456789, 1100000000987654321))
assert os.stat(m + "/data").st_mtime_ns == 1100000000987654321
fd = os.open(m + "/sp", os.O_RDWR | os.O_CREAT, 0o644)
os.posix_fallocate(fd, 1 << 20, 4096)
assert os.fstat(fd).st_size == (1 << 20) + 4096
os.pwrite(fd, b"d" * 4096, 8 << 20)
assert os.lseek(fd, 0, os.SEEK_DATA) >= (1 << 20) - 4096
assert os.lseek(fd, 0, os.SEEK_HOLE) == 0
src = os.open(m + "/data", os.O_RDONLY)
n = os.copy_file_range(src, fd, 5000, 0, 0)
assert n == 5000, n
os.close(src); os.close(fd)
assert open(m + "/sp", "rb").read(5000) == open(m + "/data", "rb").read()
EOF
}

@test "new files belong to their creator; a setgid directory passes on its group" {
	chmod 755 "$T"
	fbx -o lowerdir="$L1",upperdir="$U",workdir="$W",allow_other "$MNT"
	chmod 1777 "$MNT"
	mkdir "$MNT/g"
	chown 0:55 "$MNT/g"
	chmod 2777 "$MNT/g"
	setpriv --reuid 1000 --regid 1000 --clear-groups sh -c "echo x >'$MNT/mine'; mkdir '$MNT/g/sub'; echo y >'$MNT/g/f'"
	[ "$(stat -c %u:%g "$MNT/mine")" = 1000:1000 ]
	[ "$(stat -c %u:%g "$U/mine")" = 1000:1000 ]
	[ "$(stat -c %u:%g "$MNT/g/f")" = 1000:55 ]
	[ "$(stat -c %u:%g:%A "$MNT/g/sub")" = 1000:55:drwxr-sr-x ]
	# Permissions are the kernel's: another user cannot write there.
	chmod 755 "$MNT/g"
	run setpriv --reuid 2000 --regid 2000 --clear-groups sh -c "echo z >'$MNT/g/z'"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
}

@test "an upper written by fuseboxd reads the same through kernel overlayfs, and the other way round" {
	mkdir -p "$L1/d" "$L1/keep"
	echo a >"$L1/d/a"
	echo b >"$L1/b"
	echo k >"$L1/keep/k"
	fbx_rw "$L1"
	rm "$MNT/b"
	rm -r "$MNT/d"
	mkdir "$MNT/d"
	echo new >"$MNT/d/n"
	echo k2 >>"$MNT/keep/k"
	ln -s target "$MNT/link"
	local ours theirs
	ours=$(cd "$MNT" && find . -printf '%p %y %s %l\n' | sort)
	umount "$MNT"
	mkdir "$T/ovl"
	mount -t overlay overlay -o lowerdir="$L1",upperdir="$U",workdir="$W" "$T/ovl"
	theirs=$(cd "$T/ovl" && find . -printf '%p %y %s %l\n' | sort)
	[ "$ours" = "$theirs" ]
	[ "$(cat "$T/ovl/keep/k")" = "$(printf 'k\nk2')" ]
	# And what overlayfs writes, fuseboxd reads.
	rm "$T/ovl/keep/k"
	rm -r "$T/ovl/d"
	mkdir "$T/ovl/d"
	echo o >"$T/ovl/d/o"
	theirs=$(cd "$T/ovl" && find . -printf '%p %y %s %l\n' | sort)
	umount "$T/ovl"
	fbx_rw "$L1"
	ours=$(cd "$MNT" && find . -printf '%p %y %s %l\n' | sort)
	[ "$ours" = "$theirs" ]
	[ "$(ls -A "$MNT/d")" = o ]
}

@test "a directory of the upper swapped for a symlink behind the daemon's back is never followed" {
	mkdir -p "$T/outside"
	echo secret >"$T/outside/secret"
	echo secret >"$T/outside/x"
	fbx_rw
	mkdir "$MNT/d"
	echo x >"$MNT/d/x"
	# The kernel keeps its nodes for d and d/x (a cwd and an open file) while
	# the upper is tampered with directly, as a process holding it might; a
	# fresh look-up would show the kernel a symlink, which it resolves in the
	# caller's root, not the daemon's. What reaches the daemon must fail.
	python3 - "$MNT/d" "$U" "$T/outside" <<'EOF'
import os, sys
d, upper, outside = sys.argv[1:]
os.chdir(d)
fd = os.open("x", os.O_RDWR)
os.rename(upper + "/d", upper + "/d.real")
os.symlink(outside, upper + "/d")
def fails(what, f):
    try:
        f()
    except OSError:
        return
    raise SystemExit("%s reached the outside" % what)
fails("create", lambda: open("new", "w"))
fails("lookup", lambda: open("secret").read())
fails("fchmod", lambda: os.fchmod(fd, 0o777))
fails("ftruncate", lambda: os.ftruncate(fd, 0))
fails("mkdir", lambda: os.mkdir("sub"))
fails("unlink", lambda: os.unlink("secret"))
EOF
	[ "$(ls -A "$T/outside")" = "$(printf 'secret\nx')" ]
	[ "$(cat "$T/outside/secret")" = secret ]
	[ "$(cat "$T/outside/x")" = secret ]
	[ "$(stat -c %a "$T/outside/x")" = 644 ]
}

@test "sqlite works on the mount, and posix locks and flock exclude other processes" {
	fbx_rw
	python3 - "$MNT" <<'EOF'
import fcntl, os, sqlite3, subprocess, sys
m = sys.argv[1]
db = sqlite3.connect(m + "/t.db")
db.execute("create table t (k integer primary key, v text)")
with db:
    db.executemany("insert into t (v) values (?)", [("v%d" % i,) for i in range(2000)])
assert db.execute("select count(*) from t").fetchone()[0] == 2000
db.close()
f = open(m + "/lock", "w")
fcntl.lockf(f, fcntl.LOCK_EX)
probe = "import fcntl,sys; f=open(sys.argv[1],'w'); fcntl.%s(f, fcntl.LOCK_EX|fcntl.LOCK_NB)"
r = subprocess.run([sys.executable, "-c", probe % "lockf", m + "/lock"], capture_output=True)
assert r.returncode != 0, "a second posix lock was granted"
fcntl.lockf(f, fcntl.LOCK_UN)
fcntl.flock(f, fcntl.LOCK_EX)
r = subprocess.run([sys.executable, "-c", probe % "flock", m + "/lock"], capture_output=True)
assert r.returncode != 0, "a second flock was granted"
EOF
}

@test "fifos, sockets, symlinks and device nodes are made in the upper; whiteout look-alikes are refused" {
	fbx_rw
	mkfifo "$MNT/fifo"
	ln -s /nowhere "$MNT/sym"
	mknod "$MNT/null" c 1 3
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$MNT/sock"
	[ -p "$U/fifo" ] && [ -L "$U/sym" ] && [ -c "$U/null" ] && [ -S "$U/sock" ]
	[ "$(readlink "$MNT/sym")" = /nowhere ]
	run mknod "$MNT/wh" c 0 0
	[ "$status" -ne 0 ]
	run touch "$MNT/.wh.x"
	[ "$status" -ne 0 ]
}

@test "statfs reports the upper's file system" {
	fbx_rw
	[ "$(stat -f -c '%b %S' "$MNT")" = "$(stat -f -c '%b %S' "$U")" ]
}

@test "noopen: no OPEN, RELEASE or FLUSH reaches the daemon; reads come once, then from the page cache; writes copy up" {
	local i
	for i in 1 2 3; do echo "lower $i" >"$L1/f$i"; done
	fbx -d -o lowerdir="$L1",upperdir="$U",workdir="$W",noopen "$MNT" 2>"$T/log" &
	for i in $(seq 100); do mountpoint -q "$MNT" && break; sleep 0.05; done
	cat "$MNT"/f1 "$MNT"/f2 "$MNT"/f3 >/dev/null
	local reads
	reads=$(opcodes "$T/log" | awk '$1 == "READ" { print $2 }')
	[ "$reads" -eq 3 ]
	cat "$MNT"/f1 "$MNT"/f2 "$MNT"/f3 >/dev/null
	[ "$(opcodes "$T/log" | awk '$1 == "READ" { print $2 }')" -eq 3 ]
	echo more >>"$MNT/f1"
	: >"$MNT/f2"
	[ "$(cat "$MNT/f1")" = "$(printf 'lower 1\nmore')" ]
	[ "$(cat "$U/f1")" = "$(printf 'lower 1\nmore')" ]
	[ "$(stat -c %s "$MNT/f2" "$U/f2")" = "$(printf '0\n0')" ]
	[ "$(cat "$L1/f1" "$L1/f2")" = "$(printf 'lower 1\nlower 2')" ]
	# The first OPEN is answered ENOSYS, which turns OPEN off; FLUSH likewise.
	[ "$(opcodes "$T/log" | awk '$1 == "OPEN" { print $2 }')" -eq 1 ]
	[ "$(opcodes "$T/log" | awk '$1 == "FLUSH" { print $2 }')" -le 1 ]
	refute_opcode "$T/log" RELEASE
}

@test "a lower file held open with passthrough cannot be opened for writing (ETXTBSY) until it is closed" {
	echo lower >"$L1/f"
	fbx_rw
	exec 5<"$MNT/f"
	run sh -c "echo new >>'$MNT/f'"
	exec 5<&-
	[ "$status" -ne 0 ]
	[[ "$output" == *"Text file busy"* ]]
	# Nothing was copied up, and once the reader is gone the write goes through.
	[ ! -e "$U/f" ]
	# RELEASE is asynchronous: give it a moment to reach the daemon.
	local i
	for i in $(seq 20); do
		sh -c "echo new >>'$MNT/f'" 2>/dev/null && break
		sleep 0.05
	done
	[ "$(cat "$MNT/f")" = "$(printf 'lower\nnew')" ]
	[ "$(cat "$L1/f")" = lower ]
}

# names DIR...: the entries of the directories, sorted.
names() {
	local d
	for d in "$@"; do ls -A "$d"; done | sort
}

@test "a directory read in chunks while its entries are unlinked lists every surviving entry exactly once" {
	# 4000 entries: half in a lower layer (unlinking leaves whiteouts), half in the upper.
	mkdir "$L1/d" "$U/d"
	seq -f "$L1/d/l%04g" 0 1999 | xargs touch
	seq -f "$U/d/u%04g" 0 1999 | xargs touch
	names "$L1/d" "$U/d" >"$T/all"
	# Every third name goes, in an order unrelated to the order of reading.
	awk 'NR % 3 == 0' "$T/all" | awk 'BEGIN { srand(7) } { print rand() "\t" $0 }' |
		sort | cut -f2 >"$T/gone"
	sort "$T/gone" | comm -23 "$T/all" - >"$T/left"
	[ "$(wc -l <"$T/left")" -eq 2667 ]
	fbx_rw
	# ~40 entries per getdents call, 30 unlinked after each.
	"$TOOLS/dirread" chunks "$MNT/d" 1024 "$T/gone" 30 >"$T/seen.raw"
	sort "$T/seen.raw" >"$T/seen"
	echo "listed twice: $(uniq -d "$T/seen" | head -5)"
	[ -z "$(uniq -d "$T/seen")" ]
	echo "unknown: $(comm -23 "$T/seen" "$T/all" | head -5)"
	[ -z "$(comm -23 "$T/seen" "$T/all")" ]
	echo "survivors missed: $(comm -23 "$T/left" "$T/seen" | head -5)"
	[ -z "$(comm -23 "$T/left" "$T/seen")" ]
	# Read again from the start: the unlinked names are gone.
	[ "$(names "$MNT/d")" = "$(cat "$T/left")" ]
}

@test "telldir/seekdir return to the same entry of a merged directory; a new read sees creates and unlinks" {
	mkdir "$L1/d" "$L2/d"
	seq -f "$L2/d/b%03g" 0 299 | xargs touch
	seq -f "$L1/d/a%03g" 0 299 | xargs touch
	# Hidden by the top layer: a whiteout of each kind.
	mknod "$L1/d/b000" c 0 0
	touch "$L1/d/.wh.b001"
	fbx_rw
	run "$TOOLS/dirread" seek "$MNT/d"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | sort)" = "$(names "$L1/d" "$L2/d" | grep -v -e '^b00[01]$' -e '^\.wh\.')" ]
	touch "$MNT/d/new"
	rm "$MNT/d/a000" "$MNT/d/b299"
	run "$TOOLS/dirread" seek "$MNT/d"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | sort)" = "$({
		names "$L1/d" "$L2/d" | grep -v -e '^b00[01]$' -e '^\.wh\.' -e '^a000$' -e '^b299$'
		echo new
	} | sort)" ]
}
