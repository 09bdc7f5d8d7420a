# SPDX-License-Identifier: GPL-2.0-only
# Helpers for the policy tests in the guest (busybox sh): runc containers from
# /opt/fusebox/bundle with fusebox-hook and chosen annotations, and what is left
# of fusebox's BPF side. Sourcing it cds into the bundle and saves config.json;
# call restore_config at the end.
bundle=/opt/fusebox/bundle
rootfs=$bundle/rootfs
cd $bundle || exit 1
cp config.json config-plain.json
restore_config() { cp config-plain.json config.json; }

# live_pids ERE: live (not zombie) processes whose command line matches (no pgrep
# in the guest's busybox).
live_pids() {
	local d
	for d in /proc/[0-9]*; do
		tr '\0' ' ' <$d/cmdline 2>/dev/null | grep -Eq "$1" || continue
		grep -q '^State:.*Z' $d/status 2>/dev/null || echo "${d#/proc/}"
	done
}
# logger_pids: fusebox's audit logger processes.
logger_pids() { live_pids '^fusebox-hook .*audit-logger $'; }

# fb_bpf_left: fusebox's programs, maps, pins and audit logger that exist (none: empty).
fb_bpf_left() {
	logger_pids | sed 's/^/audit logger: /'
	bpftool prog show 2>/dev/null | grep -E 'name (fb_|op_deny)'
	bpftool map show 2>/dev/null | grep -E 'name (fb_|policy_b)'
	ls /sys/fs/bpf/fusebox 2>/dev/null
	[ "$(bpftool link show 2>/dev/null | grep -c '^[0-9]')" -le "$links0" ] || echo "links: more than $links0"
}
links0=$(bpftool link show 2>/dev/null | grep -c '^[0-9]')
nothing_left() { [ -z "$(fb_bpf_left)" ]; }

# jstr TEXT: TEXT as a JSON string.
jstr() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

# use_annotations JSON_OBJECT: config.json with the hook and these annotations.
use_annotations() {
	ANN=$1 awk '{ i = index($0, "\"@ANNOTATIONS@\"")
		if (i) $0 = substr($0, 1, i - 1) ENVIRON["ANN"] substr($0, i + 15)
		print }' config-hook.json >config.json
}


# stop_detached ID: kill a detached container, wait until it stopped, delete it.
stop_detached() {
	runc kill "$1" KILL >/dev/null 2>&1
	eventually sh -c "runc state $1 | grep -q stopped"
	runc delete -f "$1" >/dev/null 2>&1
}

# refused ID WHAT PATTERN: `runc run ID` (its output in /tmp/ID.out) is refused with
# a line matching PATTERN (grep BRE), and the container's command (which echoes
# container-ran) never ran.
refused() {
	local rc
	runc run "$1" >"/tmp/$1.out" 2>&1
	rc=$?
	check "$2 (status $rc)" grep -q "$3" "/tmp/$1.out"
	check "... and the container never ran" sh -c "! grep -q container-ran /tmp/$1.out"
}
