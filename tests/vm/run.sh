#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# tests/vm/run.sh [SUITE...]: runs the VM tests. BPF LSM can't be loaded on the CI
# kernel, so a stock Debian kernel boots in QEMU (TCG: no KVM needed) with `bpf` in its
# LSM list, and the guest runs tests/vm/SUITE/*.sh (default: guest, then guest-nobpf)
# against fusebox's binaries and runc. Prints TAP (`ok N - ...`,
# `not ok N - ...`, `ok N - ... # skip ...`) and `# ...` notes; the whole serial console
# goes to $TEST_LOG_DIR/vm-console.log (default $O/test-logs).
# Builds what is missing first: the kernel (tests/vm/kernel.sh, cached), the test
# programs (tests/vm/build-progs.sh), the initramfs (tests/vm/mkinitramfs.sh).
# Environment: FUSEBOX_VM_TIMEOUT (whole run, s, default 480), FUSEBOX_VM_TEST_TIMEOUT
# (per guest script, s, default 90), FUSEBOX_VM_ACCEL (default tcg,thread=single),
# FUSEBOX_VM_SMP (default 2), FUSEBOX_VM_APPEND (more kernel parameters, for the guest
# scripts to read in /proc/cmdline), FUSEBOX_VM_QEMU_ARGS (more QEMU options, split on
# spaces), and kernel.sh's FUSEBOX_VM_*.
# Exits 0 when nothing failed.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
O=${O:-build}
export O
log_dir=${TEST_LOG_DIR:-$O/test-logs}
timeout_s=${FUSEBOX_VM_TIMEOUT:-480}
# One host thread for all vCPUs. With multi-threaded TCG (QEMU 7.2), a vCPU can run a
# stale translation of code another vCPU is patching: attaching a BPF LSM program while
# other processes open files oopses with "int3" at bpf_lsm_file_open in most boots.
accel=${FUSEBOX_VM_ACCEL:-tcg,thread=single}
smp=${FUSEBOX_VM_SMP:-2}
# Debian's 6.12 already lists bpf in CONFIG_LSM; 6.1 does not. Name it either way.
lsm=lockdown,capability,landlock,yama,apparmor,bpf
mkdir -p "$log_dir" "$O/vm"
console=$log_dir/vm-console.log
initrd=$O/vm/initramfs.cpio
t0=$(date +%s.%N)

elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}'; }
skip_all() {
	echo "ok 1 - vm tests # skip $*"
	exit 0
}
# fail_all REASON [LOG]: one failed test, with the end of LOG as notes.
fail_all() {
	echo "not ok 1 - vm tests: $1"
	[ -z "${2:-}" ] || tail -n 15 "$2" | sed 's/^/#   /'
	exit 1
}

command -v qemu-system-x86_64 >/dev/null ||
	skip_all "qemu-system-x86_64 is not installed (Debian package qemu-system-x86)"

kdir=$(tests/vm/kernel.sh 2>"$log_dir/vm-kernel.log")
case $? in
0) ;;
2) skip_all "no Debian kernel to boot:" \
	"$(sed -n 's/^kernel.sh: //p' "$log_dir/vm-kernel.log" | tail -n 1)" ;;
*) fail_all "fetching the kernel failed (tests/vm/kernel.sh)" "$log_dir/vm-kernel.log" ;;
esac
sed 's/^/# /' "$log_dir/vm-kernel.log"

tests/vm/build-progs.sh >"$log_dir/vm-build.log" 2>&1 ||
	fail_all "building the test programs failed (tests/vm/build-progs.sh)" "$log_dir/vm-build.log"
tests/vm/mkinitramfs.sh "$kdir" "$initrd" >"$log_dir/vm-build.log" 2>&1 ||
	fail_all "building the initramfs failed (tests/vm/mkinitramfs.sh)" "$log_dir/vm-build.log"

kernel=$kdir/vmlinux
[ -f "$kernel" ] || kernel=$kdir/vmlinuz
echo "# vm: $(cat "$kdir/version"), ${kernel##*/}," \
	"initramfs $(($(stat -c %s "$initrd") / 1024)) KiB, ready after $(elapsed) s"

n=0 fails=0
# Number the guest's TAP lines; keep other console output in the log only.
relay() {
	local line
	while IFS= read -r line; do
		line=${line%$'\r'}
		printf '%s\n' "$line" >>"$console"
		case $line in
		"ok - "*)
			n=$((n + 1))
			echo "ok $n - ${line#ok - }"
			;;
		"not ok - "*)
			n=$((n + 1)) fails=$((fails + 1))
			echo "not ok $n - ${line#not ok - }"
			;;
		"#"*) echo "$line" ;;
		FUSEBOX-VM-END*) done_line=${line#FUSEBOX-VM-END } ;;
		esac
	done
}

# boot SUITE LSM: boot the guest with that LSM list; its /init runs
# /opt/fusebox/tests/SUITE/*.sh (tests/vm/SUITE on the host).
boot() {
	local suite=$1 lsm=$2 start n0=$n qemu_rc why wall limit
	done_line=
	# One budget for all boots: FUSEBOX_VM_TIMEOUT counts from the start of run.sh.
	limit=$(awk -v t="$timeout_s" -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {print int(t - (b - a))}')
	if [ "$limit" -lt 5 ]; then
		n=$((n + 1)) fails=$((fails + 1))
		echo "not ok $n - vm guest ran tests/vm/$suite: no time left (FUSEBOX_VM_TIMEOUT=$timeout_s)"
		return
	fi
	echo "# vm: booting for tests/vm/$suite, lsm=$lsm"
	echo "=== tests/vm/$suite" >>"$console"
	start=$(date +%s.%N)
	# shellcheck disable=SC2086 # FUSEBOX_VM_QEMU_ARGS is a list of options
	relay < <(timeout -k 5 "$limit" qemu-system-x86_64 -accel "$accel" -smp "$smp" -m 1G \
		${FUSEBOX_VM_QEMU_ARGS:-} \
		-nodefaults -no-user-config -display none -serial stdio -no-reboot \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 lsm=$lsm panic=-1 quiet fusebox.suite=$suite ${FUSEBOX_VM_APPEND:-}" </dev/null 2>&1
		rc=$?
		echo
		echo "FUSEBOX-QEMU-STATUS $rc")
	qemu_rc=$(sed -n 's/^FUSEBOX-QEMU-STATUS //p' "$console" | tail -n 1)
	wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')

	if [ -z "$done_line" ]; then
		if [ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ]; then
			why="no end of tests within ${limit} s (FUSEBOX_VM_TIMEOUT=$timeout_s for all boots)"
		elif sed -n "/^=== tests\/vm\/$suite\$/,\$p" "$console" | grep -q 'Kernel panic'; then
			why="guest kernel panicked"
		else
			why="guest stopped before the end of the tests (qemu status ${qemu_rc:-?})"
		fi
		n=$((n + 1)) fails=$((fails + 1))
		echo "not ok $n - vm guest ran all of tests/vm/$suite: $why"
		grep -v '^FUSEBOX-QEMU-STATUS' "$console" | tail -n 15 | sed 's/^/#   /'
	elif [ "$n" = "$n0" ]; then
		n=$((n + 1)) fails=$((fails + 1))
		echo "not ok $n - vm guest reported no test of tests/vm/$suite (see $console)"
	fi
	echo "# vm: qemu ran ${wall} s (guest ${done_line:-did not finish})"
}

: >"$console"
[ $# -gt 0 ] || set -- guest guest-nobpf
for suite; do
	case $suite in
	# The same kernel without the bpf LSM: programs load and attach but never run.
	*-nobpf) boot "$suite" "${lsm%,bpf}" ;;
	*) boot "$suite" "$lsm" ;;
	esac
done
echo "# vm: total $(elapsed) s; console log: $console"
[ "$fails" = 0 ]
