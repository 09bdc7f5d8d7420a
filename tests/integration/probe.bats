#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The kernel feature probe (hook/ctl_probe.c, bpf/lsm_probe.c) tells the truth on the
# host: where the kernel refuses BPF LSM programs (the CI kernel 6.18 answers EPERM to
# every trampoline program) it says no, with the kernel's reason, quietly, and exits 0.
# bpftool's own feature probe is the independent witness. The yes side is tested in
# the VM (tests/vm/guest/20-probe.sh).

setup_file() {
	SRC=${FUSEBOX_SRC:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	cd "$SRC" && tests/vm/build-progs.sh
}

setup() {
	SRC=${FUSEBOX_SRC:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	O=${O:-build}
	case "$O" in /*) ;; *) O=$SRC/$O ;; esac
	PROBE=$O/tests/vm/vm-probe
	T=$(mktemp -d /tmp/fusebox-probe.XXXXXX)
}

teardown() {
	rm -rf "$T"
}

# bpftool's verdict on program type lsm: yes or no.
bpftool_lsm() {
	if bpftool feature probe kernel 2>/dev/null | grep -q 'program_type lsm is available'; then
		echo yes
	else
		echo no
	fi
}

# value NAME: the value of line "NAME: ..." of $T/out.
value() {
	sed -n "s/^$1: //p" "$T/out"
}

@test "the probe's bpf-lsm answer agrees with bpftool's feature probe" {
	"$PROBE" >"$T/out" 2>"$T/err"
	want=$(bpftool_lsm)
	[ "$(value bpf-lsm | cut -d' ' -f1)" = "$want" ]
	[ "$(value bpf-lsm-cgroup | cut -d' ' -f1)" = "$want" ]
}

@test "where the kernel refuses BPF LSM, the probe says no with the kernel's reason and exits 0" {
	[ "$(bpftool_lsm)" = no ] || skip "this kernel accepts BPF LSM programs"
	run "$PROBE"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$T/out"
	grep -qE '^bpf-lsm: no \((load|attach): .+\)$|^bpf-lsm: no \(bpf is not in ' "$T/out"
	grep -qE '^bpf-lsm-cgroup: no \(' "$T/out"
}

@test "where the kernel refuses BPF LSM, fb_probe_bpf_lsm() returns 0, not an error" {
	[ "$(bpftool_lsm)" = no ] || skip "this kernel accepts BPF LSM programs"
	run "$PROBE" --raw
	[ "$status" -eq 0 ]
	[ "$output" = 0 ]
}

@test "the probe writes nothing to stderr: libbpf's messages are dropped" {
	"$PROBE" >"$T/out" 2>"$T/err"
	"$PROBE" --raw >/dev/null 2>>"$T/err"
	[ ! -s "$T/err" ]
}

@test "with FUSEBOX_LIBBPF_DEBUG set, libbpf's messages go to stderr" {
	[ "$(bpftool_lsm)" = no ] || skip "libbpf says nothing when loading succeeds"
	FUSEBOX_LIBBPF_DEBUG=1 "$PROBE" --raw >"$T/out" 2>"$T/err"
	grep -q '^libbpf: ' "$T/err"
	[ "$(cat "$T/out")" = 0 ]
}

@test "the probe prints one known feature per line, each answered" {
	"$PROBE" >"$T/out"
	for name in kernel lsm bpf-lsm bpf-lsm-cgroup btf cgroup2 fuse fuse-passthrough \
		fuse-io-uring; do
		[ "$(grep -c "^$name: ." "$T/out")" -eq 1 ]
	done
	[ "$(wc -l <"$T/out")" -eq 9 ]
	[ "$(value kernel)" = "$(uname -r)" ]
}

@test "the probe names the mounted cgroup2 hierarchy" {
	"$PROBE" >"$T/out"
	mnt=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)
	[ -n "$mnt" ] || skip "no cgroup2 mounted here"
	value cgroup2 | grep -q "^$mnt ("
}

@test "run without privileges, the probe says no and names the cause instead of failing" {
	[ "$(id -u)" = 0 ] || skip "needs root to drop privileges"
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
		"$PROBE"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$T/out"
	grep -qE '^bpf-lsm: no \(.*not running as root\)$|^bpf-lsm: no \(bpf is not in ' "$T/out"
}

@test "fuseboxctl probe prints what the probe prints" {
	[ -x "$O/fuseboxctl" ] || skip "fuseboxctl is not built"
	"$PROBE" >"$T/want"
	run "$O/fuseboxctl" probe
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat "$T/want")" ]
}
