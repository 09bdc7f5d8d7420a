# SPDX-License-Identifier: GPL-2.0-only
# The peers of the benchmark and how each one is mounted (sourced by run.sh).
# Needs W (the run's work dir), FUSEBOXD and PASSTHROUGH_HP.
#
#   native          the data directories themselves, no mount
#   overlayfs       the kernel's overlay (mount -t overlay)
#   fuse-overlayfs  Debian's fuse-overlayfs
#   passthrough_hp  libfuse 3.17's example server (passthrough on), one mount
#                   per layer: it cannot merge layers
#   fuseboxd        ours, default mode: kernel passthrough for file data
#   fuseboxd-noopen ours, -o noopen: no OPEN/RELEASE, page-cached reads
#
# Every daemon is found by its FUSE connection (fdinfo's fuse_connection), its
# pid recorded in $W/pids so the cleanup can stop whatever umount did not.

# shellcheck disable=SC2034 # used by run.sh
PEERS_ALL=(native overlayfs fuse-overlayfs passthrough_hp fuseboxd fuseboxd-noopen)

# peer_missing PEER: print why PEER cannot run here; false when it can.
peer_missing() {
	case $1 in
	native | overlayfs) return 1 ;;
	fuse-overlayfs) command -v fuse-overlayfs >/dev/null && return 1
		echo "fuse-overlayfs is not installed" ;;
	passthrough_hp) [ -x "$PASSTHROUGH_HP" ] && return 1
		echo "$PASSTHROUGH_HP not built (./install.sh --deps builds it)" ;;
	fuseboxd | fuseboxd-noopen) [ -x "$FUSEBOXD" ] && return 1
		echo "$FUSEBOXD not built (make)" ;;
	*) echo "unknown peer" ;;
	esac
	return 0
}

# Layered peers see each layer as its own directory, merged ones see the union.
peer_layered() {
	[ "$1" = native ] || [ "$1" = passthrough_hp ]
}

peer_is_fuse() {
	case $1 in fuse-overlayfs | passthrough_hp | fuseboxd | fuseboxd-noopen) return 0 ;; esac
	return 1
}

# peer_view PEER SCENARIO BASE: where PEER shows the scenario's data.
peer_view() {
	if [ "$1" = native ]; then
		echo "$3"
	else
		echo "$W/mnt/$2/$1"
	fi
}

# peer_mount PEER VIEW BASE "LAYERS" [UPPER WORK]
# Mounts BASE/LAYER... (top first) for PEER at VIEW. With UPPER, merged peers
# write there and layered ones serve UPPER itself. A single read-only layer gets
# an empty second one: the kernel overlay needs two, and all peers get the same.
# Errors (the mount command's own message) go to stderr.
peer_mount() {
	local peer=$1 view=$2 base=$3 layers=$4 upper=${5:-} work=${6:-}
	local lower="" l opts
	for l in $layers; do
		lower+=${lower:+:}$base/$l
	done
	if [ -z "$upper" ] && [ "$(wc -w <<<"$layers")" -eq 1 ]; then
		lower+=:$W/empty
	fi
	opts=lowerdir=$lower${upper:+,upperdir=$upper,workdir=$work}
	[ "$peer" = native ] && return 0
	mkdir -p "$view"
	# Into a file, not a pipe: a daemon could hold a pipe open for its lifetime.
	if ! peer_mount_cmd "$peer" "$view" "$base" "$layers" "$upper" "$opts" \
		</dev/null >/dev/null 2>"$W/mount.err"; then
		awk '!/^unknown argument ignored/ && n++ < 3' "$W/mount.err" >&2
		peer_record_pids "$view"
		return 1
	fi
	peer_record_pids "$view"
	# A daemon that exits 0 without mounting must not pass for a peer.
	if ! findmnt -rn -o TARGET | grep -q "^$view\(/\|$\)"; then
		echo "$peer: nothing mounted on $view" >&2
		return 1
	fi
}

peer_mount_cmd() {
	local peer=$1 view=$2 base=$3 layers=$4 upper=$5 opts=$6 l
	case $peer in
	overlayfs) mount -t overlay overlay -o "$opts" "$view" ;;
	fuse-overlayfs) fuse-overlayfs -o "$opts" "$view" ;;
	fuseboxd) "$FUSEBOXD" -o "$opts" "$view" ;;
	fuseboxd-noopen) "$FUSEBOXD" -o "$opts,noopen" "$view" ;;
	passthrough_hp)
		if [ -n "$upper" ]; then
			"$PASSTHROUGH_HP" "$upper" "$view"
		else
			for l in $layers; do
				mkdir -p "$view/$l"
				"$PASSTHROUGH_HP" "$base/$l" "$view/$l" || return
			done
		fi
		;;
	esac
}

# The mounts at or under VIEW, deepest first.
mounts_under() {
	findmnt -rn -o TARGET | grep "^$1\(/\|$\)" | sort -r
}

# peer_pids VIEW: pids of the FUSE daemons serving the mounts at or under VIEW.
peer_pids() {
	local majmin fstype conn
	while read -r _ majmin fstype; do
		case $fstype in fuse | fuse.*) ;; *) continue ;; esac
		conn=$(((${majmin%%:*} << 20) | ${majmin##*:}))
		# Processes come and go while grep reads: its status means nothing.
		{ grep -lsx "fuse_connection:[[:space:]]*$conn" /proc/[0-9]*/fdinfo/* || true; } |
			cut -d/ -f3
	done < <(findmnt -rn -o TARGET,MAJ:MIN,FSTYPE | grep "^$1\(/\|\s\)") | sort -un
}

peer_record_pids() {
	local pid
	for pid in $(peer_pids "$1"); do
		echo "$pid $(readlink "/proc/$pid/exe")" >>"$W/pids"
	done
}

# Peak RSS (VmHWM, KiB) of the daemons under VIEW: the largest one.
peer_hwm_kib() {
	local pid max=0 v
	for pid in $(peer_pids "$1"); do
		v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
		[ -n "$v" ] && [ "$v" -gt "$max" ] && max=$v
	done
	echo "$max"
}

# A process that is gone or a zombie (PID 1 reaps slowly here) is dead.
pid_alive() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# peer_umount VIEW: unmount everything at or under VIEW and wait for its daemons.
peer_umount() {
	local pids t pid i
	pids=$(peer_pids "$1")
	for t in $(mounts_under "$1"); do
		umount "$t" 2>/dev/null || umount -l "$t"
	done
	for pid in $pids; do
		for i in $(seq 50); do
			pid_alive "$pid" || break
			sleep 0.1
		done
		pid_alive "$pid" && kill "$pid" 2>/dev/null
	done
	return 0
}
