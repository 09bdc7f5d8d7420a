#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Runs fusebox's test suites and prints one closing line "N passed, N failed, N skipped".
#   tests/run.sh all|unit|integration|vm|long
# Unit tests are cmocka binaries in $O/tests; integration tests are bats files in
# tests/integration (root, real runc, real FUSE); vm tests boot a stock Debian kernel
# in QEMU (tests/vm/run.sh) and report TAP. A skipped test is counted as skipped,
# never as passed.
set -uo pipefail
cd "$(dirname "$0")/.."
export O=${O:-build}
export FUSEBOX_SRC=$PWD
suite=${1:-all}
pass=0 fail=0 skip=0
failed_names=()
log_dir=${TEST_LOG_DIR:-$O/test-logs}
mkdir -p "$log_dir"

# Count TAP lines from stdin, echoing them.
count_tap() {
	local line
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case "$line" in
		"not ok "*) fail=$((fail + 1)); failed_names+=("${line#not ok }") ;;
		"ok "*"# skip"* | "ok "*"# SKIP"*) skip=$((skip + 1)) ;;
		"ok "*) pass=$((pass + 1)) ;;
		esac
	done
}

run_unit() {
	local t
	for t in "$O"/tests/test_*; do
		[ -x "$t" ] || continue
		echo "# $t"
		# cmocka's TAP output: one "ok"/"not ok" line per test, "#" diagnostics.
		local out rc
		out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1)
		rc=$?
		count_tap <<<"$out"
		# A crash part-way leaves no "not ok" line: count it.
		if [ "$rc" -ne 0 ] && ! grep -q '^not ok ' <<<"$out"; then
			count_tap <<<"not ok - $(basename "$t") exited with status $rc"
		fi
	done
}

run_bats() {
	local f
	[ "$(id -u)" = 0 ] || { echo "# integration tests need root"; fail=$((fail + 1)); return; }
	for f in "$@"; do
		[ -f "$f" ] || continue
		echo "# $f"
		count_tap < <(bats --tap "$f" 2>&1)
	done
}

run_vm() {
	count_tap < <(tests/vm/run.sh 2>&1)
}

case "$suite" in
unit) run_unit ;;
integration) run_bats tests/integration/*.bats ;;
vm) run_vm ;;
long)
	run_bats tests/long/*.bats
	# The oldest kernel fusebox supports: bookworm's own 6.1, the whole VM suite again.
	echo "# vm: again on bookworm's 6.1 kernel"
	FUSEBOX_VM_KERNEL_SERIES=6.1 run_vm
	;;
all)
	run_unit
	run_bats tests/integration/*.bats
	[ -x tests/vm/run.sh ] && run_vm
	;;
*) echo "usage: tests/run.sh all|unit|integration|vm|long" >&2; exit 2 ;;
esac

if [ ${#failed_names[@]} -gt 0 ]; then
	echo "# failed:"
	printf '#   %s\n' "${failed_names[@]}"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ $((pass + fail)) -gt 0 ]
