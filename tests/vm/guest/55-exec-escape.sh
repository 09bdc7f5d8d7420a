# SPDX-License-Identifier: GPL-2.0-only
# Exec rules against the ways to run a file's code besides execve(path), in real
# runc containers with the real hook: mmap and mprotect to PROT_EXEC, execveat
# with a directory fd or AT_EMPTY_PATH, a copy in a memfd run with execveat or
# fexecve, a deleted file. A policy that denies exec anywhere also denies exec
# of files that have no path in the container (memfd): no rule could name them.
. /opt/fusebox/tests/lib/tap.sh
. /opt/fusebox/tests/lib/policy.sh

conf=/opt/fusebox/fusebox.conf
cp /opt/fusebox/bin/vm-exec-escape $rootfs/bin/vm-exec-escape
cp /opt/fusebox/bin/vm-exec-escape $rootfs/tmp/ee
# Each run prints DIR-NAME:ok or DIR-NAME:fail:<strerror> (tests/vm/progs/exec_escape.c).
cat >$rootfs/escape.sh <<'SH'
vm-exec-escape check /tmp ee | sed 's/^/tmp-/'
vm-exec-escape check /bin vm-exec-escape | sed 's/^/bin-/'
SH
denied() { grep -q "^$1:fail:Permission denied" /tmp/esc.out; }
allowed() { has_line /tmp/esc.out "$1:ok"; }

# ---- enforce: exec denied under /tmp; checks run with runc exec ----
policy='{"mode": "enforce", "default": "allow", "rules": [{"path": "/tmp", "deny": ["exec"]}]}'
use_annotations "{\"fusebox.io/policy\": $(jstr "$policy")}"
echo 'sleep 120' >$rootfs/cmd.sh
if runc run -d fbvm-exec >/tmp/esc-run.out 2>&1 </dev/null; then
	runc exec fbvm-exec sh /escape.sh >/tmp/esc.out 2>&1
	check "runc exec works in a container whose policy denies exec (runc runs from a memfd)" \
		allowed bin-mmap-read
	check "mmap(PROT_READ) of a file under an exec-denied /tmp works" allowed tmp-mmap-read
	check "mmap(PROT_EXEC) of a file under an exec-denied /tmp fails with EACCES" \
		denied tmp-mmap-exec
	check "mprotect to PROT_EXEC of a mapping of a file under /tmp fails with EACCES" \
		denied tmp-mprotect-exec
	check "execveat with a dirfd of /tmp and a relative name fails with EACCES" \
		denied tmp-execveat-dirfd
	check "execveat(fd, \"\", AT_EMPTY_PATH) of a file under /tmp fails with EACCES" \
		denied tmp-execveat-empty-path
	check "escape: a copy in a memfd run with execveat(AT_EMPTY_PATH) fails with EACCES" \
		denied tmp-memfd-execveat
	check "escape: a copy in a memfd run with fexecve fails with EACCES" denied tmp-memfd-fexecve
	check "escape: mmap(PROT_EXEC) of a memfd fails with EACCES" denied tmp-memfd-mmap-exec
	check "escape: mprotect to PROT_EXEC of a memfd mapping fails with EACCES" \
		denied tmp-memfd-mprotect-exec
	check "escape: a deleted file under /tmp, run through its fd, fails with EACCES" \
		denied tmp-deleted-execveat
	check "outside /tmp: mmap and mprotect to PROT_EXEC work" \
		sh -c 'grep -qx bin-mmap-exec:ok /tmp/esc.out && grep -qx bin-mprotect-exec:ok /tmp/esc.out'
	check "outside /tmp: execveat with a dirfd, by fd, and of a deleted file work" \
		sh -c 'for n in execveat-dirfd execveat-empty-path deleted-execveat; do
			grep -qx bin-$n:ok /tmp/esc.out || exit 1; done'
	check "a memfd copy of a binary outside /tmp is denied too (no path: no rule allows it)" \
		denied bin-memfd-execveat
	[ "$TAP_FAILED" = 0 ] || { diag </tmp/esc.out; diag </tmp/esc-run.out; }
	audit_has() {
		fuseboxctl audit --config $conf fbvm-exec >/tmp/esc-audit.out 2>&1
		grep -q "$1" /tmp/esc-audit.out
	}
	check "fuseboxctl audit names a memfd exec denial: by=no-path, outside the container" \
		eventually audit_has ' fbvm-exec pid=[0-9]* uid=0 comm=vm-exec-escape op=exec rights=exec path=(outside the container)/memfd:escape.* verdict=deny by=no-path$'
	check "fuseboxctl audit names the mmap denial under /tmp by its rule" \
		grep -q ' op=mmap rights=exec path=/tmp/ee verdict=deny by=rules\[0\]$' /tmp/esc-audit.out
	[ "$TAP_FAILED" = 0 ] || diag </tmp/esc-audit.out
	stop_detached fbvm-exec
	check "after the container stops nothing of fusebox's BPF is left" eventually nothing_left
else
	not_ok "a detached container with an exec-deny policy starts"
	diag </tmp/esc-run.out
fi
runc delete -f fbvm-exec >/dev/null 2>&1

# ---- a policy that never denies exec leaves memfd alone ----
policy='{"mode": "enforce", "default": "allow", "rules": [{"path": "/etc", "deny": ["write"]}]}'
use_annotations "{\"fusebox.io/policy\": $(jstr "$policy")}"
cp $rootfs/escape.sh $rootfs/cmd.sh
runc run fbvm-noexec >/tmp/esc.out 2>&1
rc=$?
check "a policy without exec rules: a memfd copy runs and maps PROT_EXEC (status $rc)" \
	sh -c 'grep -qx tmp-memfd-execveat:ok /tmp/esc.out && grep -qx tmp-memfd-mmap-exec:ok /tmp/esc.out'
check "a policy without exec rules: files under /tmp run and map PROT_EXEC" \
	sh -c 'grep -qx tmp-execveat-dirfd:ok /tmp/esc.out && grep -qx tmp-mmap-exec:ok /tmp/esc.out'
[ "$TAP_FAILED" = 0 ] || diag </tmp/esc.out
runc delete -f fbvm-noexec >/dev/null 2>&1
check "after it stops nothing of fusebox's BPF is left" eventually nothing_left

rm -f $rootfs/bin/vm-exec-escape $rootfs/tmp/ee $rootfs/escape.sh
restore_config
exit 0
