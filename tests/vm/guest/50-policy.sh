# SPDX-License-Identifier: GPL-2.0-only
# File-access policies from annotations, enforced by BPF LSM in real runc
# containers with the real fusebox-hook (createRuntime + poststop): each right
# is denied where a rule says so and allowed elsewhere, audit mode denies
# nothing, the operator's own program is attached, and once the containers are
# gone no fusebox program, link, map or pin is left.
. /opt/fusebox/tests/lib/tap.sh
. /opt/fusebox/tests/lib/policy.sh

# The image: a secret directory with one readable file, files to change in /etc,
# a script in /tmp.
mkdir -p $rootfs/secrets
echo top-secret >$rootfs/secrets/key
echo public-key >$rootfs/secrets/public.pem
printf '#!/bin/sh\necho script-ran\n' >$rootfs/tmp/hello.sh
chmod 755 $rootfs/tmp/hello.sh
reset_etc() {
	echo public-data >$rootfs/etc/public
	echo del >$rootfs/etc/del-me
	echo mv >$rootfs/etc/mv-me
	rm -rf $rootfs/etc/new $rootfs/etc/newdir $rootfs/etc/moved $rootfs/tmp/k $rootfs/tmp/sl \
		$rootfs/tmp/new $rootfs/s2 $rootfs/tmp/d
}

# Each check prints NAME:ok or NAME:fail:<first line of the error>.
cat >$rootfs/cmd.sh <<'SH'
t() {
	n=$1
	shift
	if "$@" >/tmp/t.out 2>/tmp/t.err; then echo "$n:ok"; else echo "$n:fail:$(head -n 1 /tmp/t.err)"; fi
}
t read-secret cat /secrets/key
t read-public cat /secrets/public.pem
t list-secrets ls /secrets
t read-etc cat /etc/public
t write-etc sh -c 'echo x >>/etc/public'
t create-etc sh -c 'echo x >/etc/new'
t mkdir-etc mkdir /etc/newdir
t delete-etc rm /etc/del-me
t rename-etc mv /etc/mv-me /etc/moved
t exec-tmp /tmp/hello.sh
t exec-bin /bin/true
t create-tmp sh -c 'echo x >/tmp/new'
t hardlink-out ln /secrets/key /tmp/k
t symlink-read sh -c 'ln -s /secrets/key /tmp/sl && cat /tmp/sl'
t rename-rule-dir mv /secrets /s2
t proc-fd-reopen sh -c 'exec 3</etc/public; echo x >>/proc/self/fd/3'
t deep-create mkdir -p /tmp/$(printf 'd/%.0s' $(seq 40))
SH

policy='{"mode": "MODE", "default": "allow", "rules": ['
policy=$policy'{"path": "/etc", "deny": ["write", "create", "delete", "rename"]}, '
policy=$policy'{"path": "/tmp", "deny": ["exec"]}, '
policy=$policy'{"path": "/secrets", "deny": ["read"]}, '
policy=$policy'{"path": "/secrets/public.pem", "allow": ["read"]}]}'

# denied NAME: the check failed with EACCES.
denied() { grep -q "^$1:fail:.*Permission denied" /tmp/pol.out; }
allowed() { has_line /tmp/pol.out "$1:ok"; }

# ---- enforce ----
reset_etc
use_annotations "{\"fusebox.io/policy\": $(jstr "$(echo "$policy" | sed s/MODE/enforce/)")}"
runc run fbvm-pol >/tmp/pol.out 2>&1
rc=$?
if [ $rc = 0 ] && allowed read-etc; then
	ok "a container with a policy annotation starts under the hook (enforce)"
else
	not_ok "a container with a policy annotation starts under the hook (enforce, status $rc)"
	diag </tmp/pol.out
fi
check "read: a file under a read-denied directory cannot be opened (EACCES)" denied read-secret
check "read: an allow on a deeper path opens that file" allowed read-public
check "read: the read-denied directory cannot be listed" denied list-secrets
check "read: files under a write-denied /etc still read" allowed read-etc
check "write: appending to a file under /etc fails with EACCES" denied write-etc
check "create: a new file under /etc fails with EACCES" denied create-etc
check "create: a new directory under /etc fails with EACCES" denied mkdir-etc
check "delete: unlinking under /etc fails with EACCES" denied delete-etc
check "rename: renaming under /etc fails with EACCES" denied rename-etc
check "exec: a script under /tmp cannot be executed (EACCES)" denied exec-tmp
check "exec: binaries outside /tmp still run" allowed exec-bin
check "create: /tmp, denied only exec, takes new files" allowed create-tmp
check "escape: a hard link cannot take a read-denied file out of its directory" denied hardlink-out
check "escape: a symlink to a read-denied file does not open it" denied symlink-read
check "escape: the directory of a rule cannot be renamed away" denied rename-rule-dir
check "escape: reopening a read-only fd through /proc/self/fd for writing fails (EACCES)" \
	denied proc-fd-reopen
check "fail closed: creating deeper than the walk limit (32 levels) with no rule in reach fails" \
	denied deep-create
etc_unchanged() {
	has_line $rootfs/etc/public public-data && [ -e $rootfs/etc/del-me ] && [ -e $rootfs/etc/mv-me ]
}
check "the image is unchanged where the policy denied" etc_unchanged
check "after the container stops no fusebox program, map, link or pin is left" eventually nothing_left
[ "$TAP_FAILED" = 0 ] || { fb_bpf_left | diag; diag </tmp/pol.out; }
check "after the container stops its state directory is gone" test ! -e /run/fusebox/fbvm-pol
fuseboxctl audit --config /opt/fusebox/fusebox.conf fbvm-pol >/tmp/audit.out 2>&1
check "the stopped container's denials stay in /var/log/fusebox/fbvm-pol.log: fuseboxctl audit prints them" \
	grep -q '^[0-9T:.-]*Z fbvm-pol pid=[0-9]* uid=0 comm=cat op=open rights=read path=/secrets/key verdict=deny by=rules\[2\]$' /tmp/audit.out
[ "$TAP_FAILED" = 0 ] || diag </tmp/audit.out
runc delete -f fbvm-pol >/dev/null 2>&1

# ---- audit ----
reset_etc
use_annotations "{\"fusebox.io/policy\": $(jstr "$(echo "$policy" | sed s/MODE/audit/)")}"
runc run fbvm-audit >/tmp/pol.out 2>&1
rc=$?
n=$(grep -c ':ok$' /tmp/pol.out)
if [ $rc = 0 ] && [ "$n" = 17 ]; then
	ok "audit mode denies nothing: all 17 accesses succeed"
else
	not_ok "audit mode denies nothing: all 17 accesses succeed (status $rc, $n ok)"
	grep -v ':ok$' /tmp/pol.out | diag
fi
check "audit mode: the container really changed /etc" test ! -e $rootfs/etc/del-me
check "after the audit container stops nothing of fusebox's BPF is left" eventually nothing_left
runc delete -f fbvm-audit >/dev/null 2>&1
[ -d $rootfs/s2 ] && mv $rootfs/s2 $rootfs/secrets

# ---- two containers share the program set ----
reset_etc
use_annotations "{\"fusebox.io/policy\": $(jstr "$(echo "$policy" | sed s/MODE/enforce/)")}"
echo 'sleep 60' >$rootfs/long.sh
sed 's|"/cmd.sh"|"/long.sh"|' config.json >config.long && mv config.long config.json
if runc run -d fbvm-long >/tmp/long.out 2>&1 </dev/null; then
	use_annotations "{\"fusebox.io/policy\": $(jstr "$(echo "$policy" | sed s/MODE/audit/)")}"
	runc run fbvm-short >/tmp/pol.out 2>&1
	# Audit mode let it rename /secrets away: put it back (same inode, same rules).
	[ -d $rootfs/s2 ] && mv $rootfs/s2 $rootfs/secrets
	check "a second container (audit mode) runs while the first one is up" allowed read-secret
	check "when one of two containers stops, the program set stays pinned" \
		test -e /sys/fs/bpf/fusebox/policy/fb_policy_cfg
	# Detached like fuseboxd: another session, stdio on /dev/null, not the runtime's pipes.
	one_logger() {
		set -- $(logger_pids)
		[ $# = 1 ] && [ "$(cut -d' ' -f6 /proc/$1/stat)" != "$(cut -d' ' -f6 /proc/$$/stat)" ] &&
			[ "$(readlink /proc/$1/fd/1)" = /dev/null ] && [ "$(readlink /proc/$1/fd/2)" = /dev/null ]
	}
	check "while containers with a policy run, one audit logger runs, detached from the runtime" \
		one_logger
	runc exec fbvm-long cat /secrets/key >/tmp/exec.out 2>&1
	check "the remaining container is still enforced" grep -q 'Permission denied' /tmp/exec.out
	fuseboxctl status --config /opt/fusebox/fusebox.conf fbvm-long >/tmp/status.out 2>&1
	check "fuseboxctl status shows the container's policy and its dropped audit events" \
		grep -q '^  policy: enforce, audit events dropped: 0$' /tmp/status.out
	audit_has() {
		fuseboxctl audit --config /opt/fusebox/fusebox.conf >/tmp/audit.out 2>&1
		grep -q "$1" /tmp/audit.out
	}
	check "fuseboxctl audit reports the running container's denial with its time, id, path and rule" \
		eventually audit_has '^[0-9T:.-]*Z fbvm-long pid=[0-9]* uid=0 comm=cat op=open rights=read path=/secrets/key verdict=deny by=rules\[2\]$'
	check "fuseboxctl audit reports what audit mode let through in the stopped container, as verdict=audit" \
		grep -q ' fbvm-short pid=[0-9]* uid=0 comm=cat op=open rights=read path=/secrets/key verdict=audit by=rules\[2\]$' /tmp/audit.out
	check "fuseboxctl audit reports an exec denial by the /tmp rule" \
		grep -q ' op=exec rights=exec path=/tmp/hello.sh verdict=audit by=rules\[1\]$' /tmp/audit.out
	[ "$TAP_FAILED" = 0 ] || { diag </tmp/status.out; diag </tmp/audit.out; }
	fuseboxctl audit --config /opt/fusebox/fusebox.conf fbvm-short >/tmp/audit2.out 2>&1
	check "events stay in the log: reading them again with the container's id shows them again" \
		grep -q ' fbvm-short pid=.* path=/secrets/key verdict=audit' /tmp/audit2.out
	check "while a container runs, its programs and pins are there to see" \
		sh -c "bpftool prog show | grep -q 'name fb_file_open' && ls /sys/fs/bpf/fusebox/policy | grep -q link_"
	check "while it runs, a process outside the container reads what it may not" \
		grep -qx top-secret $rootfs/secrets/key
	stop_detached fbvm-long
	check "when the last container is deleted, nothing of fusebox's BPF and no audit logger is left" \
		eventually nothing_left
	check "... and no state directory" test ! -e /run/fusebox/fbvm-long
else
	not_ok "a detached container with a policy starts"
	diag </tmp/long.out
fi
runc delete -f fbvm-short >/dev/null 2>&1
runc delete -f fbvm-long >/dev/null 2>&1

# ---- the operator's program ----
reset_etc
echo no >$rootfs/etc/forbidden
use_annotations "{\"fusebox.io/programs\": $(jstr '["deny_forbidden"]')}"
cat >$rootfs/cmd.sh <<'SH'
cat /etc/forbidden
cat /etc/public
SH
runc run fbvm-prog >/tmp/prog.out 2>&1
rc=$?
check "fusebox.io/programs: the operator's lsm_cgroup program denies inside the container" \
	grep -q "can't open '/etc/forbidden': Operation not permitted" /tmp/prog.out
check "fusebox.io/programs: other files still open (status $rc)" has_line /tmp/prog.out public-data
check "outside the container the file stays readable" has_line $rootfs/etc/forbidden no
check "after the program's container stops no link or pin of it is left" eventually nothing_left
[ "$TAP_FAILED" = 0 ] || { fb_bpf_left | diag; diag </tmp/prog.out; }
runc delete -f fbvm-prog >/dev/null 2>&1

restore_config
exit 0
