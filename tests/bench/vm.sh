#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `make bench-vm` (and the VM part of `make bench`): what a file-access policy costs,
# measured where BPF LSM runs: one boot of the VM tests' guest (tests/vm/run.sh,
# QEMU/TCG, a stock Debian kernel) runs tests/vm/guest-bench/*.sh, which times
# open+close and stat of files inside three real runc containers with the real hook,
# side by side: (a) no policy, (b) a 50-rule policy that does not deny the files,
# (c) one operator program that allows everything; and (a) alone before b and c start
# (a0) and between them (a1). Prints one table (median time per operation, ratio to
# a) and writes JSON.
#
# The guest's clock is QEMU's instruction counter by default (-icount shift=0: one
# guest instruction = 1 ns of guest time), so the times are instruction counts of the
# emulated CPU and do not move with the host's load (caches and memory latency are not
# modeled). --clock wall times with the host's clock instead: closer to real time
# spent in emulation, but shared CPUs make it noisy (2x between repetitions was seen).
#
# usage: tests/bench/vm.sh [OPTIONS]
#   --files N    files timed per pass (default 2000)
#   --passes N   timed passes over them per measurement (default 3)
#   --reps N     measurements per container, the median is reported (default 7)
#   --quick      --files 500 --passes 1 --reps 3: a smoke test
#   --clock icount|wall   the guest's clock (default icount, see above)
#   --out FILE   the JSON results (default $O/bench/vm-results.json)
# Environment: O (build dir), FUSEBOX_VM_TIMEOUT (default 900 s), tests/vm/run.sh's.
#
# Emulated, and sharing the host's CPUs: absolute times mean little and vary from
# run to run; compare the containers within one run. Without QEMU or the kernel
# package it says that the VM part was skipped and why, and exits 0.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
SELF=$HERE/vm.sh
. "$HERE/report.sh" # JQ_FIXED, report_columns

usage() {
	local text
	text=$(sed -n '/^# usage:/,/^# Environment:/p' "$SELF" | sed 's/^# \{0,1\}//')
	if [ "${1:-0}" = 0 ]; then echo "$text"; else echo "$text" >&2; fi
	exit "${1:-0}"
}
die() {
	echo "bench-vm: $*" >&2
	exit 1
}

FILES=2000 PASSES=3 REPS=7 OUT="" CLOCK=icount
while [ $# -gt 0 ]; do
	case $1 in
	--files) FILES=${2:?--files needs a number}; shift ;;
	--passes) PASSES=${2:?--passes needs a number}; shift ;;
	--reps) REPS=${2:?--reps needs a number}; shift ;;
	--quick) FILES=500 PASSES=1 REPS=3 ;;
	--clock) CLOCK=${2:?--clock needs icount or wall}; shift ;;
	--out) OUT=${2:?--out needs a file}; shift ;;
	-h | --help) usage 0 ;;
	*) echo "bench-vm: unknown argument $1" >&2; usage 2 ;;
	esac
	shift
done
case $CLOCK in
icount) QEMU_CLOCK="-icount shift=0,sleep=on" ;;
wall) QEMU_CLOCK="" ;;
*) die "--clock takes icount or wall" ;;
esac
for n in "$FILES" "$PASSES" "$REPS"; do
	case $n in '' | *[!0-9]* | 0*) die "--files, --passes, --reps take positive numbers" ;; esac
done

O=${O:-build}
case $O in /*) ;; *) O=$SRC/$O ;; esac
OUT=${OUT:-$O/bench/vm-results.json}
LOGS=$O/bench/vm-logs
mkdir -p "$LOGS" "$(dirname "$OUT")"
command -v jq >/dev/null || die "jq is not installed (./install.sh --deps)"

START=$SECONDS
echo "bench-vm: booting the VM once ($CLOCK clock): $FILES files x $PASSES passes, $REPS reps per container" >&2
# The guest reads its sizes from the kernel command line; the whole run and the guest
# script get more time than the tests do.
FUSEBOX_VM_APPEND="fusebox.bench=$FILES,$PASSES,$REPS" \
	FUSEBOX_VM_QEMU_ARGS="${FUSEBOX_VM_QEMU_ARGS:-} $QEMU_CLOCK" \
	FUSEBOX_VM_TIMEOUT=${FUSEBOX_VM_TIMEOUT:-900} \
	FUSEBOX_VM_TEST_TIMEOUT=${FUSEBOX_VM_TEST_TIMEOUT:-${FUSEBOX_VM_TIMEOUT:-900}} \
	TEST_LOG_DIR=$LOGS O=$O "$SRC/tests/vm/run.sh" guest-bench >"$LOGS/run.out" 2>&1
rc=$?
DURATION=$((SECONDS - START))

if why=$(sed -n 's/^ok [0-9]* - vm tests # skip //p' "$LOGS/run.out") && [ -n "$why" ]; then
	echo "bench-vm: VM part skipped: $why"
	exit 0
fi
sed -n 's/^\(not \)\{0,1\}ok [0-9]* - /  &/p' "$LOGS/run.out" >&2
console=$LOGS/vm-console.log
grep '^FUSEBOX-BENCH ' "$console" 2>/dev/null |
	sed -n 's/^FUSEBOX-BENCH case=\([a-z0-9]*\) rep=\([0-9]*\) open_ns=\([0-9]*\) stat_ns=\([0-9]*\)$/\1\t\2\t\3\t\4/p' \
		>"$LOGS/results.tsv"
if [ "$rc" != 0 ] || grep -q '^not ok' "$LOGS/run.out"; then
	echo "bench-vm: the VM run failed (tests/vm/run.sh status $rc); see $LOGS/run.out and $console" >&2
	grep -A 15 '^not ok' "$LOGS/run.out" | head -n 30 >&2
	exit 1
fi
[ -s "$LOGS/results.tsv" ] || die "the guest reported no timings (see $console)"

info=$(sed -n 's/^FUSEBOX-BENCH-INFO //p' "$console" | tail -n 1)
guest_kernel=$(sed -n 's/.*kernel=\([^ ]*\).*/\1/p' <<<"$info")
vm_line=$(sed -n 's/^# vm: \(linux-image[^,]*\),.*/\1/p' "$LOGS/run.out" | head -n 1)

jq -n --rawfile res "$LOGS/results.tsv" \
	--argjson files "$FILES" --argjson passes "$PASSES" --argjson reps "$REPS" \
	--argjson duration "$DURATION" --arg date "$(date -u +%FT%TZ)" \
	--arg kernel "$(uname -r)" --argjson cpus "$(nproc)" \
	--arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --arg guest "$guest_kernel" \
	--arg package "$vm_line" --arg accel "${FUSEBOX_VM_ACCEL:-tcg,thread=single}" \
	--argjson smp "${FUSEBOX_VM_SMP:-2}" --arg clock "$CLOCK" --arg qclock "$QEMU_CLOCK" \
	--arg git "$(git -C "$SRC" describe --always --dirty 2>/dev/null)" '
	def median: sort | if length == 0 then null
		elif length % 2 == 1 then .[length / 2 | floor]
		else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	($res | split("\n") | map(select(length > 0) | split("\t")
		| {case: .[0], rep: (.[1] | tonumber), open: (.[2] | tonumber), stat: (.[3] | tonumber)})) as $R
	| {
		a: "no policy",
		b: "50-rule policy (files not denied)",
		c: "one operator program (lsm_cgroup, allows all)",
		a0: "a before b starts: no fusebox BPF on the node",
		a1: "a after b starts, before c: policy programs loaded, no operator program"
	} as $labels
	| ([$R[] | select(.case == "a") | .open] | median) as $a_open
	| ([$R[] | select(.case == "a") | .stat] | median) as $a_stat
	| {
		schema: 1,
		date: $date,
		duration_s: $duration,
		host: {kernel: $kernel, cpus: $cpus, loadavg_end: $load},
		vm: {kernel: $guest, package: $package, accel: $accel, smp: $smp,
			clock: $clock, qemu_clock_args: $qclock,
			note: (if $clock == "icount" then
				"QEMU TCG with -icount shift=0: guest time counts emulated instructions (1 ns each), not host time; caches and memory latency are not modeled; compare the containers within one run"
				else "QEMU TCG, guest clock = host time: emulation on shared CPUs, noisy; compare the containers within one run" end)},
		versions: {fusebox: $git},
		params: {files: $files, passes: $passes, reps: $reps,
			what: "vm-bench-files in the container: one untimed pass, then `passes` timed passes of open(O_RDONLY)+close, then of stat, over `files` empty files at /srv/data/bench/fNNNNN of the rootfs; ns per operation; the median of `reps` such runs, the containers taken in rotating order"},
		cases: ([("a", "b", "c", "a0", "a1") as $c
			| [$R[] | select(.case == $c)] as $rows
			| select($rows | length > 0)
			| {key: $c, value: {
				label: $labels[$c],
				open_close_ns: {median: ([$rows[].open] | median), reps: [$rows[].open]},
				stat_ns: {median: ([$rows[].stat] | median), reps: [$rows[].stat]},
				open_close_ratio: (if $a_open then ([$rows[].open] | median) / $a_open else null end),
				stat_ratio: (if $a_stat then ([$rows[].stat] | median) / $a_stat else null end)
			}}] | from_entries)
	}' >"$OUT.tmp" && mv "$OUT.tmp" "$OUT" || die "could not write $OUT"

echo
jq -r '"VM benchmark: \(.vm.kernel) under QEMU TCG (emulated), \(.vm.smp) vCPUs, " +
	(if .vm.clock == "icount" then "clock -icount shift=0: times are guest instructions at 1 per ns"
	 else "clock: host time (noisy)" end) + "; compare within the run",
	"\(.params.files) files x \(.params.passes) passes per run, median of \(.params.reps) runs per container; ratio to a"' "$OUT"
jq -r "$JQ_FIXED"'
	(["container", "open+close, µs (ratio)", "stat, µs (ratio)"] | @tsv),
	(.cases | to_entries[] | [
		"\(.key)  \(.value.label)",
		"\(.value.open_close_ns.median / 1000 | fixed(2)) (\(.value.open_close_ratio | fixed(2)))",
		"\(.value.stat_ns.median / 1000 | fixed(2)) (\(.value.stat_ratio | fixed(2)))"] | @tsv)' "$OUT" |
	report_columns
echo "bench-vm: results $OUT, console $console ($DURATION s in all)"
