# SPDX-License-Identifier: GPL-2.0-only
# Shared helpers for the bats tests of fuseboxd mounted standalone on a real FUSE
# mount. Every test builds its layers in its own temp dir $T; fs_teardown unmounts
# and stops every daemon whose command line names that dir.

fs_setup() {
	SRC=${FUSEBOX_SRC:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	O=${O:-build}
	case "$O" in /*) ;; *) O=$SRC/$O ;; esac
	FUSEBOXD=$O/fuseboxd
	[ -x "$FUSEBOXD" ] || { echo "no $FUSEBOXD: run make first"; return 1; }
	T=$(mktemp -d /tmp/fusebox-fs.XXXXXX)
	L1=$T/l1 L2=$T/l2 L3=$T/l3 MNT=$T/mnt U=$T/upper W=$T/work
	TOOLS=$O/tests/tools
	mkdir -p "$L1" "$L2" "$L3" "$MNT" "$U" "$W"
}

fs_teardown() {
	local m p i
	for m in $(findmnt -rn -o TARGET | grep "^$T/" | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	[ -n "${HOLDER:-}" ] && kill "$HOLDER" 2>/dev/null
	for p in $(our_daemons); do kill "$p" 2>/dev/null; done
	for i in $(seq 50); do [ -z "$(our_daemons)" ] && break; sleep 0.1; done
	for p in $(our_daemons); do kill -9 "$p" 2>/dev/null; done
	rm -rf "$T"
}

# Live fuseboxd processes of this test (their command line names $T; zombies
# have no command line and are not listed).
our_daemons() {
	pgrep -f -- "fuseboxd.*$T/" || true
}

# fbx_rw [LOWERS]: fuseboxd with lowers (default $L1:$L2), upper $U, work $W on $MNT.
fbx_rw() {
	fbx -o lowerdir="${1:-$L1:$L2}",upperdir="$U",workdir="$W" "$MNT"
}

# fbx ARGS...: fuseboxd, daemonizing; returns once mounted. bats' fd 3 closed.
fbx() {
	"$FUSEBOXD" "$@" 3>&-
}

# start_fg LOG ARGS...: fuseboxd -f in the background, pid in $DPID, stderr
# appended to LOG; returns once $MNT is mounted.
start_fg() {
	local log=$1 i
	shift
	"$FUSEBOXD" -f "$@" 2>>"$log" 3>&- &
	DPID=$!
	for i in $(seq 100); do
		mountpoint -q "$MNT" && return 0
		sleep 0.05
	done
	echo "fuseboxd did not mount $MNT"
	return 1
}

# Negations that fail the test (a bare `! cmd` does not in bats).
refute_mounted() {
	if mountpoint -q "$MNT"; then
		echo "$MNT is mounted"
		return 1
	fi
}

refute_opcode() { # LOG OPCODE
	if opcodes "$1" | grep -q "^$2 "; then
		echo "$2 was sent"
		return 1
	fi
}

# wait_status PID: wait for our child PID, status in $st.
wait_status() {
	st=0
	wait "$1" || st=$?
}

# Requests the kernel sent, from a -d log: "OPCODE COUNT" lines.
opcodes() {
	grep -aoE 'opcode: [A-Z_]+' "$1" | awk '{print $2}' | sort | uniq -c | awk '{print $2, $1}'
}

setxattr() { # PATH NAME VALUE
	python3 -c 'import os, sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode(), follow_symlinks=False)' "$@"
}

