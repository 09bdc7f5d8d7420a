#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `make bench`: fuseboxd against native, kernel overlayfs, fuse-overlayfs and
# libfuse's passthrough_hp, side by side in one run, on data built fresh here.
#
# usage: tests/bench/run.sh [OPTIONS]
#   --quick          1/20 of the data, 1 run per cell: a smoke test (~30 s)
#   --runs N         hyperfine runs per cell (default 5; the median is reported);
#                    the write cells' runs go in rounds of one run per peer
#   --peers A,B      only these peers (native is always kept: ratios need it)
#   --only PATTERN   only workloads whose id matches the shell PATTERN
#                    (disk-cat-cold, disk-tar-warm, disk-stat-*, disk-py-*,
#                    tmpfs-big-cold, write, reqstat, ...)
#   --out FILE       the JSON results (default $O/bench/results.json)
# Environment: O (build dir), FUSEBOXD, FUSEBOXCTL, PASSTHROUGH_HP, FUSE_PREFIX,
# BENCH_PYTHON (default /usr/bin/python3: the python row imports its standard
# library, copied into the data, through each peer).
#
# Disk data lives in a fresh loop-mounted ext4 with a journal (the root ext4 has
# none, see PLATFORM.md), the tmpfs data in a fresh tmpfs. Each workload runs
# cold (sync, drop_caches, then wait until the FUSE daemons stop burning CPU on
# the FORGET burst) and warm (after one warmup run), timed by hyperfine. The
# write test gets a fresh journaled ext4 per run, its peers' runs interleaved.
# Prints one table (median seconds, ratio to native) with the daemons' peak
# RSS, and per-file FUSE request counts (of the cat of the small files, and of
# one more, untimed write run) when `fuseboxctl reqstat` works; writes it all
# as JSON.
# Everything it creates (mounts, loop devices, daemons, files) is removed on
# exit, failure or Ctrl-C.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
SELF=$HERE/run.sh
. "$HERE/data.sh"
. "$HERE/peers.sh"
. "$HERE/report.sh"

# ---- internal steps, run by hyperfine as --prepare/--cleanup -----------------------
# State comes from the environment exported by the main run.

# Wait until the daemons' CPU time stops moving (the FORGET burst after
# drop_caches is over): 4 quiet samples 50 ms apart, at most 10 s.
settle() {
	local quiet=0 prev=-1 now pid _
	for _ in $(seq 200); do
		now=0
		for pid in "$@"; do
			now=$((now + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
		done
		if [ "$now" -eq "$prev" ]; then
			quiet=$((quiet + 1))
			[ $quiet -ge 4 ] && return 0
		else
			quiet=0
		fi
		prev=$now
		sleep 0.05
	done
}

step_cold() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	# shellcheck disable=SC2046
	settle $(cat "$W/scenario.pids" 2>/dev/null)
}

# loop_mount IMG DIR: a loop device with direct I/O (no second page cache of the
# image file on the root fs, so cold reads reach the disk), then mount it.
loop_mount() {
	local dev
	dev=$(losetup -f --show --direct-io=on "$1" 2>/dev/null) || dev=$(losetup -f --show "$1")
	mount "$dev" "$2"
}

loop_umount() {
	local dev
	mountpoint -q "$2" && umount "$2"
	for dev in $(losetup -n -O NAME -j "$1"); do
		losetup -d "$dev"
	done
}

mkfs_fresh() {
	rm -f "$1"
	truncate -s "${2}M" "$1"
	# Inode tables and journal written now: no ext4lazyinit I/O during timing.
	mkfs.ext4 -q -F ${3:+-N "$3"} -E lazy_itable_init=0,lazy_journal_init=0 "$1"
}

write_view() {
	if [ "$1" = native ]; then echo "$W/wfs/upper"; else echo "$W/mnt/write/$1"; fi
}

step_write_cleanup() {
	peer_umount "$W/mnt/write/$1"
	loop_umount "$W/write.img" "$W/wfs"
}

step_write_prepare() {
	local peer=$1
	step_write_cleanup "$peer"
	mkfs_fresh "$W/write.img" "$WRITE_IMG_MIB"
	loop_mount "$W/write.img" "$W/wfs"
	mkdir "$W/wfs/upper" "$W/wfs/work"
	peer_mount "$peer" "$(write_view "$peer")" "$W" wlower "$W/wfs/upper" "$W/wfs/work"
	sync
}

case "${1:-}" in
__cold) step_cold; exit 0 ;;
__write_prepare) step_write_prepare "$2"; exit 0 ;;
__write_cleanup) step_write_cleanup "$2"; exit 0 ;;
esac

# ---- options ---------------------------------------------------------------------
usage() {
	local text
	text=$(sed -n '/^# usage:/,/^# Environment:/p' "$SELF" | sed 's/^# \{0,1\}//')
	if [ "${1:-0}" = 0 ]; then echo "$text"; else echo "$text" >&2; fi
	exit "${1:-0}"
}

die() {
	echo "bench: $*" >&2
	exit 1
}

QUICK=0 RUNS="" PEERS_ARG="" ONLY="" OUT=""
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--runs) RUNS=${2:?--runs needs a number}; shift ;;
	--peers) PEERS_ARG=${2:?--peers needs a list}; shift ;;
	--only) ONLY=${2:?--only needs a pattern}; shift ;;
	--out) OUT=${2:?--out needs a file}; shift ;;
	-h | --help) usage 0 ;;
	*) echo "bench: unknown argument $1" >&2; usage 2 ;;
	esac
	shift
done

O=${O:-build}
case $O in /*) ;; *) O=$SRC/$O ;; esac
FUSE_PREFIX=${FUSE_PREFIX:-/opt/fusebox/libfuse}
FUSEBOXD=${FUSEBOXD:-$O/fuseboxd}
FUSEBOXCTL=${FUSEBOXCTL:-$O/fuseboxctl}
PASSTHROUGH_HP=${PASSTHROUGH_HP:-$FUSE_PREFIX/bin/passthrough_hp}
OUT=${OUT:-$O/bench/results.json}

# Full scale (the project's speed goals) or 1/20 for smoke tests.
if [ $QUICK = 1 ]; then
	SMALL_FILES=1000 SMALL_DIRS=10 BIG_MIB=52 TREE_ENTRIES=5000 WRITE_FILES=250
	RUNS=${RUNS:-1}
else
	SMALL_FILES=20000 SMALL_DIRS=100 BIG_MIB=1024 TREE_ENTRIES=100000 WRITE_FILES=5000
	RUNS=${RUNS:-5}
fi
BENCH_PYTHON=${BENCH_PYTHON:-/usr/bin/python3}
PY_STDLIB=$("$BENCH_PYTHON" -S -c 'import sysconfig; print(sysconfig.get_path("stdlib"))' 2>/dev/null) ||
	PY_STDLIB=""
PY_MIB=0 PY_FILES=0
if [ -n "$PY_STDLIB" ]; then
	PY_MIB=$(du -sm "$PY_STDLIB" | cut -f1)
	PY_FILES=$(find "$PY_STDLIB" | wc -l)
fi
DISK_IMG_MIB=$(((SMALL_FILES * 12 / 1024 + BIG_MIB + TREE_ENTRIES / 200 * 8 / 1024 + PY_MIB + 64) * 5 / 4))
DISK_INODES=$(((SMALL_FILES + SMALL_DIRS + TREE_ENTRIES + PY_FILES) * 5 / 4 + 1024))
WRITE_IMG_MIB=$((WRITE_FILES * 8 / 1024 + 64))
TMPFS_MIB=$((SMALL_FILES * 16 / 1024 + BIG_MIB + WRITE_FILES * 4 / 1024 + 64))

PEERS=("${PEERS_ALL[@]}")
if [ -n "$PEERS_ARG" ]; then
	IFS=, read -r -a PEERS <<<"$PEERS_ARG"
	[ "${PEERS[0]}" = native ] || PEERS=(native "${PEERS[@]}") # ratios need native
fi

[ "$(id -u)" = 0 ] || die "needs root (mounts, drop_caches)"
for t in hyperfine jq mkfs.ext4 losetup findmnt awk tar xargs; do
	command -v "$t" >/dev/null || die "$t is not installed (./install.sh --deps)"
done

# ---- work dir and cleanup ----------------------------------------------------------
W=$(mktemp -d /var/tmp/fusebox-bench.XXXXXX)
export W FUSEBOXD PASSTHROUGH_HP WRITE_IMG_MIB

cleanup() {
	local t pid exe img dev
	trap - EXIT INT TERM
	set +e
	cd /
	# FUSE and overlay views first (they pin the data mounts), then the rest.
	for t in $(mounts_under "$W/mnt"); do
		umount "$t" 2>/dev/null || umount -l "$t"
	done
	for t in $(mounts_under "$W"); do
		umount "$t" 2>/dev/null || umount -l "$t"
	done
	if [ -f "$W/pids" ]; then
		while read -r pid exe; do
			pid_alive "$pid" || continue
			[ "$(readlink "/proc/$pid/exe")" = "$exe" ] || continue
			kill "$pid"
			sleep 0.2
			pid_alive "$pid" && kill -9 "$pid"
		done <"$W/pids"
	fi
	for img in "$W"/*.img; do
		[ -e "$img" ] || continue
		for dev in $(losetup -n -O NAME -j "$img"); do
			losetup -d "$dev"
		done
	done
	if [ -z "$(mounts_under "$W")" ]; then
		rm -rf --one-file-system "$W"
	else
		echo "bench: still mounted under $W, left in place: $(mounts_under "$W" | tr '\n' ' ')" >&2
	fi
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

mkdir -p "$W/mnt" "$W/disk" "$W/tmpfs" "$W/wfs" "$W/empty" "$W/wlower/etc" "$W/json" "$W/err"
echo "bench lower" >"$W/wlower/etc/hostname"
: >"$W/results.tsv"
: >"$W/workloads.tsv"
: >"$W/rss.tsv"
: >"$W/reqstat.tsv"
: >"$W/reqstat_write.tsv"
: >"$W/notes.txt"
START=$SECONDS
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

log() {
	printf '%s\n' "$*" >&2
}

note() {
	printf '%s\n' "$*" >>"$W/notes.txt"
}

# ---- results -----------------------------------------------------------------------
# result WID PEER STATUS MEDIAN TIMES REASON
result() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" >>"$W/results.tsv"
	case $3 in
	ok) printf '  %-24s %-16s %9.3f s\n' "$1" "$2" "$4" >&2 ;;
	*) printf '  %-24s %-16s %s: %s\n' "$1" "$2" "$3" "$6" >&2 ;;
	esac
}

# want WID: is the workload selected by --only?
want() {
	# shellcheck disable=SC2053 # ONLY is a glob on purpose
	[ -z "$ONLY" ] || [[ $1 == $ONLY ]]
}

want_any() {
	local w
	for w; do
		want "$w" && return 0
	done
	return 1
}

workload() {
	printf '%s\t%s\n' "$1" "$2" >>"$W/workloads.tsv"
}

# hyperfine_runs WID PEER MODE CMD RUNS JSON: time CMD with hyperfine, MODE cold,
# warm or write; on failure print why.
hyperfine_runs() {
	local wid=$1 peer=$2 mode=$3 cmd=$4 runs=$5 json=$6
	local err=$W/err/$wid.$peer reason
	# bash for pipefail: a tar that fails mid-pipe must fail the cell.
	local args=(--runs "$runs" --style none --export-json "$json" -n "$peer" --shell bash)
	case $mode in
	cold) args+=(--prepare "$SELF __cold") ;;
	warm) args+=(--warmup 1) ;;
	write) args+=(--prepare "$SELF __write_prepare $peer" --cleanup "$SELF __write_cleanup $peer") ;;
	esac
	: >"$err"
	hyperfine "${args[@]}" "set -o pipefail; exec 2>>$err; $cmd" >"$W/hyperfine.out" 2>&1 && return 0
	# One reader per file: `grep | head` would die of SIGPIPE under pipefail.
	reason=$(awk 'NF { print; exit }' "$err")
	[ -n "$reason" ] || reason=$(awk 'tolower($0) ~ /error/ { print; exit }' "$W/hyperfine.out")
	printf '%s\n' "${reason:0:160}"
	return 1
}

# cell WID PEER MODE CMD: RUNS runs of CMD, one result.
cell() {
	local json=$W/json/$1.$2.json why
	if why=$(hyperfine_runs "$1" "$2" "$3" "$4" "$RUNS" "$json"); then
		result "$1" "$2" ok "$(jq '.results[0].median' "$json")" \
			"$(jq -c '.results[0].times' "$json")" ""
	else
		result "$1" "$2" fail "" "" "$why"
	fi
}

# cells_interleaved WID MODE CMDFN PEER...: RUNS rounds of one run of each peer
# (CMDFN PEER prints its command), then each peer's median: the other work of a
# shared machine then weighs on all peers alike instead of on whichever peer's
# runs it meets.
cells_interleaved() {
	local wid=$1 mode=$2 fn=$3 r peer why times
	local -A failed=()
	shift 3
	for r in $(seq "$RUNS"); do
		log "  round $r of $RUNS"
		for peer; do
			[ -z "${failed[$peer]:-}" ] || continue
			why=$(hyperfine_runs "$wid" "$peer" "$mode" "$("$fn" "$peer")" 1 \
				"$W/json/$wid.$peer.$r.json") || failed[$peer]=${why:-failed}
		done
	done
	for peer; do
		if [ -n "${failed[$peer]:-}" ]; then
			result "$wid" "$peer" fail "" "" "${failed[$peer]}"
			continue
		fi
		times=$(jq -s -c '[.[].results[0].times[]]' "$W/json/$wid.$peer".*.json)
		result "$wid" "$peer" ok "$(jq 'sort as $t | ($t | length) as $n
			| if $n % 2 == 1 then $t[($n - 1) / 2] else ($t[$n / 2 - 1] + $t[$n / 2]) / 2 end' \
			<<<"$times")" "$times" ""
	done
}

# ---- scenarios: one set of mounts, several workloads ----------------------------------
declare -A VIEW SKIP SKIPSTATUS

# scenario_begin NAME BASE "LAYERS": mount every peer on BASE/LAYERS.
scenario_begin() {
	local name=$1 base=$2 layers=$3 peer why err
	SCENARIO=$name
	VIEW=() SKIP=() SKIPSTATUS=()
	: >"$W/scenario.pids"
	for peer in "${PEERS[@]}"; do
		if why=$(peer_missing "$peer"); then
			SKIP[$peer]=$why SKIPSTATUS[$peer]=skip
			continue
		fi
		VIEW[$peer]=$(peer_view "$peer" "$name" "$base")
		if ! err=$(peer_mount "$peer" "${VIEW[$peer]}" "$base" "$layers" 2>&1); then
			SKIP[$peer]="mount failed: ${err//$'\n'/; }" SKIPSTATUS[$peer]=fail
			peer_umount "${VIEW[$peer]}"
			continue
		fi
		peer_pids "${VIEW[$peer]}" >>"$W/scenario.pids"
	done
}

# scenario_check PEER WHAT GOT WANT: a peer serving wrong data is not timed.
scenario_check() {
	if [ "$3" != "$4" ]; then
		SKIP[$1]="wrong data: $2 is $3, expected $4" SKIPSTATUS[$1]=fail
		log "  $1: ${SKIP[$1]}"
	fi
}

scenario_end() {
	local peer kib
	for peer in "${PEERS[@]}"; do
		[ -n "${VIEW[$peer]:-}" ] || continue
		if peer_is_fuse "$peer" && [ -z "${SKIP[$peer]:-}" ]; then
			kib=$(peer_hwm_kib "${VIEW[$peer]}")
			[ "$kib" -gt 0 ] && printf '%s\t%s\t%s\n' "$peer" "$SCENARIO" "$kib" >>"$W/rss.tsv"
		fi
		[ "$peer" = native ] || peer_umount "${VIEW[$peer]}"
	done
	VIEW=()
}

# run_workload WID LABEL MODE CMDFN: CMDFN PEER VIEW prints the command.
run_workload() {
	local wid=$1 label=$2 mode=$3 fn=$4 peer
	want "$wid" || return 0
	workload "$wid" "$label"
	log "$label"
	for peer in "${PEERS[@]}"; do
		if [ -n "${SKIP[$peer]:-}" ]; then
			result "$wid" "$peer" "${SKIPSTATUS[$peer]}" "" "" "${SKIP[$peer]}"
			continue
		fi
		cell "$wid" "$peer" "$mode" "$("$fn" "$peer" "${VIEW[$peer]}")"
	done
}

cmd_cat() {
	local list=$W/list.merged
	peer_layered "$1" && list=$W/list.layered
	echo "cd $2 && xargs -a $list cat >/dev/null"
}

# The start of a Python function: imports through PYTHONHOME on the peer.
cmd_py() {
	local dir=$2
	peer_layered "$1" && dir=$2/py
	echo "PYTHONHOME=$dir/usr $BENCH_PYTHON -S -B $HERE/imports.py"
}

cmd_tar() {
	local what=.
	peer_layered "$1" && what="a b"
	echo "cd $2 && tar cf - $what | cat >/dev/null"
}

cmd_stat() {
	local dir=$2
	peer_layered "$1" && dir=$2/tree
	echo "cd $dir && find . -printf '%i %s %y\n' >/dev/null"
}

cmd_big() {
	local f=$2/big.bin
	peer_layered "$1" && f=$2/big/big.bin
	echo "dd if=$f of=/dev/null bs=1M status=none"
}

cmd_write() {
	echo "cp -r $W/tmpfs/wsrc/new $(write_view "$1")/ && sync -f $(write_view "$1")/new && sync -f $W/wfs"
}

check_small() {
	local peer got list=$W/list.merged
	for peer in "${PEERS[@]}"; do
		[ -n "${VIEW[$peer]:-}" ] && [ -z "${SKIP[$peer]:-}" ] || continue
		peer_layered "$peer" && list=$W/list.layered || list=$W/list.merged
		got=$(data_small_bytes "${VIEW[$peer]}" "$list" 2>/dev/null) || got="unreadable"
		scenario_check "$peer" "the small files' size" "$got" "$SMALL_BYTES"
	done
}

check_big() {
	local peer f
	for peer in "${PEERS[@]}"; do
		[ -n "${VIEW[$peer]:-}" ] && [ -z "${SKIP[$peer]:-}" ] || continue
		f=${VIEW[$peer]}/big.bin
		peer_layered "$peer" && f=${VIEW[$peer]}/big/big.bin
		scenario_check "$peer" "big.bin's size" "$(stat -c %s "$f" 2>&1)" $((BIG_MIB << 20))
	done
}

# check_py: each peer's interpreter imports what native's does.
check_py() {
	local peer want
	want=$(bash -c "$(cmd_py native "${VIEW[native]}")" 2>&1) || want="failed: $want"
	for peer in "${PEERS[@]}"; do
		[ -n "${VIEW[$peer]:-}" ] && [ -z "${SKIP[$peer]:-}" ] || continue
		[ "$peer" = native ] && continue
		scenario_check "$peer" "what the imports print" \
			"$(bash -c "$(cmd_py "$peer" "${VIEW[$peer]}")" 2>&1 || echo failed)" "$want"
	done
}

check_tree() {
	local peer d
	for peer in "${PEERS[@]}"; do
		[ -n "${VIEW[$peer]:-}" ] && [ -z "${SKIP[$peer]:-}" ] || continue
		d=${VIEW[$peer]}
		peer_layered "$peer" && d=$d/tree
		scenario_check "$peer" "the tree's top" "$(find "$d" -mindepth 1 -maxdepth 1 | wc -l)" \
			"$(find "$W/disk/tree" -mindepth 1 -maxdepth 1 | wc -l)"
	done
}

# ---- FUSE request counts per file (fuseboxctl reqstat) --------------------------------
reqstat_works() {
	if [ -z "${REQSTAT_OK:-}" ]; then
		REQSTAT_OK=no
		[ -x "$FUSEBOXCTL" ] && "$FUSEBOXCTL" reqstat -- true >/dev/null 2>&1 && REQSTAT_OK=yes
	fi
	[ "$REQSTAT_OK" = yes ]
}

# reqstat_peer PEER TEMP: count requests of a cat of all small files on PEER.
reqstat_peer() {
	local peer=$1 temp=$2 view=${VIEW[$1]} mnt list
	local -a parts
	if peer_layered "$peer"; then
		parts=("$view/a:$W/list.a" "$view/b:$W/list.b")
	else
		parts=("$view:$W/list.merged")
	fi
	[ "$temp" = cold ] && step_cold
	for mnt in "${parts[@]}"; do
		list=${mnt#*:} mnt=${mnt%%:*}
		"$FUSEBOXCTL" reqstat --json --output "$W/reqstat.json" --mount "$mnt" -- \
			sh -c "cd $view && xargs -a $list cat >/dev/null" || return
		jq -r --arg p "$peer" --arg t "$temp" \
			'.requests | to_entries[] | [$p, $t, .key, .value.count] | @tsv' \
			"$W/reqstat.json" >>"$W/reqstat.tsv"
	done
}

# reqstat_write PEER: count the requests of one more, untimed write run on PEER.
reqstat_write() {
	local peer=$1 view
	reqstat_works || return 0
	if ! "$SELF" __write_prepare "$peer" >/dev/null 2>&1; then
		note "reqstat: no write mount for $peer"
		"$SELF" __write_cleanup "$peer" >/dev/null 2>&1 || true
		return 0
	fi
	view=$(write_view "$peer")
	if "$FUSEBOXCTL" reqstat --json --output "$W/reqstat.json" --mount "$view" -- \
		bash -c "$(cmd_write "$peer")" >/dev/null 2>&1; then
		jq -r --arg p "$peer" '.requests | to_entries[] | [$p, .key, .value.count] | @tsv' \
			"$W/reqstat.json" >>"$W/reqstat_write.tsv"
	else
		note "reqstat failed for $peer (write)"
	fi
	"$SELF" __write_cleanup "$peer"
}

reqstat_all() {
	local peer temp
	want reqstat || return 0
	if ! reqstat_works; then
		note "no FUSE request counts: $FUSEBOXCTL reqstat does not work here"
		return 0
	fi
	log "FUSE requests of a cat of all small files (fuseboxctl reqstat)"
	for peer in "${PEERS[@]}"; do
		peer_is_fuse "$peer" && [ -z "${SKIP[$peer]:-}" ] || continue
		for temp in cold warm; do
			reqstat_peer "$peer" "$temp" ||
				note "reqstat failed for $peer ($temp)"
		done
	done
}

# ---- the run -----------------------------------------------------------------------
log "bench: work dir $W, scale $([ $QUICK = 1 ] && echo 1/20 || echo full), $RUNS runs per cell"
log "building data: $SMALL_FILES small files in $SMALL_DIRS dirs (2 layers), $BIG_MIB MiB file, $TREE_ENTRIES-entry tree"
DATA_START=$SECONDS
data_chunk "$W/chunk"
data_lists "$W"
mkfs_fresh "$W/disk.img" "$DISK_IMG_MIB" "$DISK_INODES"
loop_mount "$W/disk.img" "$W/disk"
data_small "$W/disk" "$W/chunk"
data_big "$W/disk"
data_tree "$W/disk"
[ -z "$PY_STDLIB" ] || data_python "$W/disk" "$PY_STDLIB"
mount -t tmpfs -o "size=${TMPFS_MIB}m,mode=0755" fusebox-bench "$W/tmpfs"
data_small "$W/tmpfs" "$W/chunk"
data_big "$W/tmpfs"
data_write_source "$W/tmpfs/wsrc" "$W/chunk"
sync
SMALL_BYTES=$(data_small_bytes "$W/disk" "$W/list.layered")
log "data built in $((SECONDS - DATA_START)) s ($SMALL_BYTES bytes of small files)"

if want_any disk-cat-cold disk-cat-warm disk-tar-cold disk-tar-warm reqstat; then
	scenario_begin disk-small "$W/disk" "a b"
	check_small
	run_workload disk-cat-cold "disk, cat $SMALL_FILES files, cold" cold cmd_cat
	run_workload disk-cat-warm "disk, cat $SMALL_FILES files, warm" warm cmd_cat
	run_workload disk-tar-cold "disk, tar $SMALL_FILES files, cold" cold cmd_tar
	run_workload disk-tar-warm "disk, tar $SMALL_FILES files, warm" warm cmd_tar
	reqstat_all
	scenario_end
fi

if want_any disk-stat-cold disk-stat-warm; then
	scenario_begin disk-tree "$W/disk" tree
	check_tree
	run_workload disk-stat-cold "disk, stat walk $TREE_ENTRIES entries, cold" cold cmd_stat
	run_workload disk-stat-warm "disk, stat walk $TREE_ENTRIES entries, warm" warm cmd_stat
	scenario_end
fi

if want_any disk-py-cold disk-py-warm; then
	if [ -z "$PY_STDLIB" ]; then
		for wid in disk-py-cold disk-py-warm; do
			want "$wid" || continue
			workload "$wid" "disk, python imports, ${wid#disk-py-}"
			for peer in "${PEERS[@]}"; do
				result "$wid" "$peer" skip "" "" "$BENCH_PYTHON does not run"
			done
		done
	else
		scenario_begin disk-py "$W/disk" py
		check_py
		run_workload disk-py-cold "disk, python imports, cold" cold cmd_py
		run_workload disk-py-warm "disk, python imports, warm" warm cmd_py
		scenario_end
	fi
fi

if want_any disk-big-cold disk-big-warm; then
	scenario_begin disk-big "$W/disk" big
	check_big
	run_workload disk-big-cold "disk, read $BIG_MIB MiB, cold" cold cmd_big
	run_workload disk-big-warm "disk, read $BIG_MIB MiB, warm" warm cmd_big
	scenario_end
fi

if want_any tmpfs-big-cold tmpfs-big-warm; then
	scenario_begin tmpfs-big "$W/tmpfs" big
	check_big
	run_workload tmpfs-big-cold "tmpfs, read $BIG_MIB MiB, cold" cold cmd_big
	run_workload tmpfs-big-warm "tmpfs, read $BIG_MIB MiB, warm" warm cmd_big
	scenario_end
fi

if want_any tmpfs-cat-warm; then
	scenario_begin tmpfs-small "$W/tmpfs" "a b"
	check_small
	run_workload tmpfs-cat-warm "tmpfs, cat $SMALL_FILES files, warm" warm cmd_cat
	scenario_end
fi

if want write; then
	workload write "write $WRITE_FILES x 4 KiB + sync, fresh ext4"
	log "write $WRITE_FILES x 4 KiB + sync, fresh ext4"
	: >"$W/scenario.pids"
	writers=()
	for peer in "${PEERS[@]}"; do
		if why=$(peer_missing "$peer"); then
			result write "$peer" skip "" "" "$why"
		elif ! err=$("$SELF" __write_prepare "$peer" 2>&1); then
			# e.g. a read-only fuseboxd refusing upperdir: its own words.
			result write "$peer" skip "" "" "upper refused: ${err//$'\n'/; }"
			"$SELF" __write_cleanup "$peer" >/dev/null 2>&1 || true
		else
			"$SELF" __write_cleanup "$peer"
			writers+=("$peer")
		fi
	done
	# The peers' ratios are what the write row is for, and they moved with the
	# other work on the machine more than with fuseboxd's changes.
	[ ${#writers[@]} -eq 0 ] || cells_interleaved write write cmd_write "${writers[@]}"
	for peer in "${writers[@]}"; do
		if peer_is_fuse "$peer"; then reqstat_write "$peer"; fi
	done
fi

DURATION=$((SECONDS - START))
mkdir -p "$(dirname "$OUT")"
report_json >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"
report_print "$OUT"
log "results: $OUT ($DURATION s in all; load average at start $LOAD_START)"
