# SPDX-License-Identifier: GPL-2.0-only
# Helpers for the fsdiff bats files (tests/integration/fs_diff.bats,
# tests/long/fs_diff_long.bats): a tmpfs per test in $T, seeded trees, kernel
# overlayfs / fuse-overlayfs / fuseboxd mounts of them, and the tester.
# Load after common.bash; call fsdiff_setup / fsdiff_teardown.

# Known deviations of kernel overlayfs that fsdiff accepts by name (see
# tests/tools/fsdiff/compare.c).
OVL_ALLOW=sparse-filled,fifo-mtime,unlinked-nlink,orphan-copyup

fsdiff_setup() {
	FSDIFF=$BUILD/tests/tools/fsdiff
	[ -x "$FSDIFF" ] || { echo "no $FSDIFF: run make first"; return 1; }
	[ -x "$FUSEBOXD" ] || { echo "no $FUSEBOXD: run make first"; return 1; }
	T=$(mktemp -d /tmp/fusebox-fsdiff.XXXXXX)
	mount -t tmpfs -o size=1g,mode=0755 fsdiff "$T"
}

fsdiff_teardown() {
	local m p i
	[ -n "${T:-}" ] || return 0
	for m in $(findmnt -rn -o TARGET | grep "^$T/" | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	for p in $(our_daemons); do kill "$p" 2>/dev/null; done
	for i in $(seq 50); do [ -z "$(our_daemons)" ] && break; sleep 0.1; done
	for p in $(our_daemons); do kill -9 "$p" 2>/dev/null; done
	umount "$T" 2>/dev/null || umount -l "$T"
	rm -rf "$T"
}

# FUSE daemons of this test (their command lines name $T).
our_daemons() {
	pgrep -f -- "(fuseboxd|fuse-overlayfs).*$T/" || true
}

# build SEED LAYERS [DIR]: DIR (default $T/s<SEED>)/{ref,l0..} from the seed;
# prints the lowerdir list.
build() {
	local seed=$1 layers=$2 d=${3:-$T/s$1} i low=
	"$FSDIFF" --build-tree "$d" --seed "$seed" --layers "$layers" >&2 || return 1
	for ((i = 0; i < layers; i++)); do low+=${low:+:}$d/l$i; done
	echo "$low"
}

# upper_dirs DIR REF: DIR/upper (with the root metadata of REF) and DIR/work.
upper_dirs() {
	mkdir -p "$1/upper" "$1/work"
	chmod --reference="$2" "$1/upper"
	touch -r "$2" "$1/upper"
}

# mount_overlay SEED LAYERS OPTS: kernel overlayfs of the seed's layers on $T/s<SEED>/mnt.
mount_overlay() {
	local d=$T/s$1 low
	low=$(build "$1" "$2") || return 1
	upper_dirs "$d" "$d/ref"
	mkdir -p "$d/mnt"
	mount -t overlay overlay -o "lowerdir=$low,upperdir=$d/upper,workdir=$d/work${3:+,$3}" "$d/mnt"
}

# mount_fuse_overlayfs SEED LAYERS: fuse-overlayfs of the seed's layers on $T/s<SEED>/mnt.
mount_fuse_overlayfs() {
	local d=$T/s$1 low
	low=$(build "$1" "$2") || return 1
	upper_dirs "$d" "$d/ref"
	mkdir -p "$d/mnt"
	fuse-overlayfs -o "lowerdir=$low,upperdir=$d/upper,workdir=$d/work" "$d/mnt" 3>&- 2>/dev/null
	mountpoint -q "$d/mnt"
}

# mount_fuseboxd_ro MNT LOWERS: read-only fuseboxd, returns once mounted.
mount_fuseboxd_ro() {
	mkdir -p "$1"
	"$FUSEBOXD" -o "lowerdir=$2" "$1" 3>&-
	mountpoint -q "$1"
}

# mount_fuseboxd_rw MNT LOWERS UPPER WORK [OPTS]: fuseboxd with a writable upper.
mount_fuseboxd_rw() {
	mkdir -p "$1" "$3" "$4"
	"$FUSEBOXD" -o "lowerdir=$2,upperdir=$3,workdir=$4${5:+,$5}" "$1" 3>&-
	mountpoint -q "$1"
}

# fsdiff ARGS...: the tester with a log in $T, output in $output.
fsdiff() {
	run timeout 60 "$FSDIFF" --log "$T/fsdiff.log" "$@"
	echo "$output"
}

# divergence_summary: the report's op/what/ref/test lines of $output, on one line.
divergence_summary() {
	grep -E '^  (op|what|tree|ref|test|both):' <<<"$output" | tr -s ' ' | paste -sd ';'
}
