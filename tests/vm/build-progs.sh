#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Builds the VM tests' own programs into $O/tests/vm (default build/tests/vm):
#   vm-probe      the BPF LSM probe (hook/ctl_probe.c + bpf/lsm_probe.c) with a tiny main
#   vm-deny-open  a test-only BPF LSM policy (progs/deny_open.bpf.c) and its loader
#   op_deny_name.bpf.o  an operator program for fusebox.io/programs (lsm_cgroup)
#   op_allow_all.bpf.o  one that allows everything (the VM benchmark's custom program)
#   op_many_hooks.bpf.o one on 11 lsm_cgroup hooks, more than the kernel has (10)
#   op_ten_hooks.bpf.o  one on 10 hooks (not file_open): every slot the kernel has
#   vm-bench-files      the VM benchmark's timer (static: it runs in a busybox container)
#   vm-exec-escape      ways to run a file's code besides execve(path) (static: runs in containers)
# Only what is out of date is rebuilt. Prints nothing unless something fails (V=1: commands).
set -euo pipefail
cd "$(dirname "$0")/../.."
O=${O:-build}
out=$O/tests/vm
progs=tests/vm/progs
mkdir -p "$out"
[ "${V:-}" = 1 ] && set -x

CC=${CC:-cc}
CLANG=${CLANG:-clang}
BPFTOOL=${BPFTOOL:-bpftool}
MULTIARCH=$($CC -dumpmachine)
# The Makefile's warnings and hardening, so test code is held to the same rules.
CFLAGS=(-O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -Wvla
	-Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wno-missing-field-initializers
	-std=gnu11 -D_GNU_SOURCE -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
	-I hook/lib -I hook -I bpf -I "$O" -I "$out")
LDFLAGS=(-pie -Wl,-z,relro,-z,now)

# stale OUT IN...: true if OUT is missing or older than any IN.
stale() {
	local o=$1 i
	shift
	[ -e "$o" ] || return 0
	for i; do
		[ "$i" -nt "$o" ] && return 0
	done
	return 1
}

# The probe's objects come from the project's own Makefile rules.
make -s O="$O" "$O/vmlinux.h" "$O/libfusebox.a" "$O/bpf/lsm_probe.o" \
	"$O/hook/ctl_probe.o" >/dev/null

if stale "$out/vm-probe" $progs/probe_main.c "$O/bpf/lsm_probe.o" "$O/hook/ctl_probe.o" \
	"$O/libfusebox.a"; then
	$CC "${CFLAGS[@]}" "${LDFLAGS[@]}" $progs/probe_main.c "$O/hook/ctl_probe.o" \
		"$O/bpf/lsm_probe.o" "$O/libfusebox.a" -o "$out/vm-probe" -lbpf -lelf -lz
fi

if stale "$out/deny_open.skel.h" $progs/deny_open.bpf.c "$O/vmlinux.h"; then
	$CLANG -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -I "$O" \
		-I "/usr/include/$MULTIARCH" -c $progs/deny_open.bpf.c -o "$out/deny_open.tmp.o"
	$BPFTOOL gen object "$out/deny_open.bpf.o" "$out/deny_open.tmp.o"
	rm -f "$out/deny_open.tmp.o"
	$BPFTOOL gen skeleton "$out/deny_open.bpf.o" >"$out/deny_open.skel.h.tmp"
	mv "$out/deny_open.skel.h.tmp" "$out/deny_open.skel.h"
fi

if stale "$out/vm-deny-open" $progs/deny_open.c "$out/deny_open.skel.h" "$O/libfusebox.a"; then
	$CC "${CFLAGS[@]}" "${LDFLAGS[@]}" $progs/deny_open.c "$O/libfusebox.a" \
		-o "$out/vm-deny-open" -lbpf -lelf -lz
fi

# bpf_object OUT SRC [CFLAGS...]: a BPF object from SRC, if out of date.
bpf_object() {
	local o=$1 src=$2
	shift 2
	stale "$out/$o.bpf.o" "$src" "$O/vmlinux.h" || return 0
	$CLANG -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -I "$O" \
		-I "/usr/include/$MULTIARCH" "$@" -c "$src" -o "$out/$o.tmp.o"
	$BPFTOOL gen object "$out/$o.bpf.o" "$out/$o.tmp.o"
	rm -f "$out/$o.tmp.o"
}
for p in op_deny_name op_allow_all op_many_hooks; do
	bpf_object $p $progs/$p.bpf.c
done
bpf_object op_ten_hooks $progs/op_many_hooks.bpf.c -DFB_TEN_HOOKS

if stale "$out/vm-bench-files" $progs/bench_files.c; then
	$CC "${CFLAGS[@]}" -static-pie $progs/bench_files.c -o "$out/vm-bench-files"
fi

if stale "$out/vm-exec-escape" $progs/exec_escape.c; then
	$CC "${CFLAGS[@]}" -static-pie $progs/exec_escape.c -o "$out/vm-exec-escape"
fi
