# SPDX-License-Identifier: GPL-2.0-only
# TAP helpers for the guest tests (busybox sh). Guest lines carry no numbers:
# tests/vm/run.sh numbers them on the host. Keep output small: the emulated
# serial console is slow, so diagnostics are cut to a few lines.

TAP_FAILED=0
ok() { echo "ok - $*"; }
not_ok() {
	echo "not ok - $*"
	TAP_FAILED=$((TAP_FAILED + 1))
}
skip() { echo "ok - $1 # skip $2"; }

# diag < FILE: up to 8 lines of FILE as TAP comments.
diag() { head -n 8 | sed 's/^/#   /'; }

# check DESC CMD...: ok if CMD exits 0; otherwise not ok, with CMD's output.
check() {
	local desc="$1"
	shift
	if "$@" >/tmp/tap.out 2>&1; then
		ok "$desc"
	else
		not_ok "$desc"
		diag </tmp/tap.out
	fi
}

# eventually CMD...: true once CMD succeeds, trying for up to 5 s. For effects the
# kernel applies asynchronously, such as a BPF link released when its pin goes.
eventually() {
	local i=0
	until "$@"; do
		i=$((i + 1))
		[ $i -lt 50 ] || return 1
		sleep 0.1
	done
}

# has_line FILE LINE: true if FILE has LINE exactly.
has_line() { grep -qxF "$2" "$1"; }

# in_cgroup DIR CMD...: run CMD as a member of the cgroup2 directory DIR.
in_cgroup() {
	local cg="$1"
	shift
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "$@"
}
