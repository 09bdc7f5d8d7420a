# SPDX-License-Identifier: GPL-2.0-only
# Where audit events go besides the container's log: syslog (busybox syslogd on
# /dev/log stands in for the node's), and what happens when the kernel's ring
# buffer is full: a stopped audit logger cannot drain it, so the kernel drops
# events, and every dropped event is counted, shown and reported (logged +
# lost = caused), never silently lost.
. /opt/fusebox/tests/lib/tap.sh
. /opt/fusebox/tests/lib/policy.sh

CONF=/opt/fusebox/fusebox.conf
N=3000 # audited opens; the 1 MiB ring buffer holds about 950 events

mkdir -p $rootfs/secrets
echo top-secret >$rootfs/secrets/key
rm -f /tmp/messages
syslogd -n -O /tmp/messages &
syslogd_pid=$!
check "busybox syslogd listens on /dev/log (syslog for this test)" eventually test -S /dev/log

use_annotations "{\"fusebox.io/policy\": $(jstr '{"mode": "audit", "rules": [{"path": "/secrets", "deny": ["read"]}]}')}"
echo 'sleep 120' >$rootfs/long.sh
sed 's|"/cmd.sh"|"/long.sh"|' config.json >config.long && mv config.long config.json
if runc run -d fbvm-drop >/tmp/drop.out 2>&1 </dev/null; then
	ok "a detached container with an audit-mode policy starts"

	runc exec fbvm-drop cat /secrets/key >/dev/null 2>&1
	in_syslog() { grep -q "fusebox-audit\[[0-9]*\]: fbvm-drop pid=[0-9]* uid=0 comm=cat op=open rights=read path=/secrets/key verdict=audit by=rules\[0\]" /tmp/messages; }
	check "syslog: the audit logger sends each event to syslog as well as to the log" \
		eventually in_syslog
	[ "$TAP_FAILED" = 0 ] || diag </tmp/messages

	set -- $(logger_pids)
	logger=$1
	kill -STOP "$logger"
	runc exec fbvm-drop sh -c "i=0; while [ \$i -lt $N ]; do read x </secrets/key; i=\$((i + 1)); done"
	fuseboxctl status --config $CONF fbvm-drop >/tmp/status.out 2>&1
	dropped=$(sed -n 's/^  policy: audit, audit events dropped: \([0-9]*\)$/\1/p' /tmp/status.out)
	check "ring buffer full: fuseboxctl status counts the events the kernel dropped (${dropped:-none})" \
		test "${dropped:-0}" -gt 0
	[ "$TAP_FAILED" = 0 ] || diag </tmp/status.out
	kill -CONT "$logger"
	reported() { grep -q "fbvm-drop audit: [0-9]* more events lost (the kernel's ring buffer was full; $dropped in all)$" /var/log/fusebox/fbvm-drop.log; }
	check "the audit logger writes the drop count into the running container's log within seconds" \
		eventually reported
	check "... and to syslog" \
		grep -q "fusebox-audit\[[0-9]*\]: fbvm-drop audit: [0-9]* more events lost" /tmp/messages

	stop_detached fbvm-drop
	fuseboxctl audit --config $CONF fbvm-drop >/tmp/audit.out 2>&1
	total=$(sed -n "s/.* fbvm-drop audit: container stopped, \([0-9]*\) events lost in all (the kernel's ring buffer was full)$/\1/p" /tmp/audit.out)
	logged=$(grep -c ' comm=sh op=open rights=read path=/secrets/key verdict=audit ' /tmp/audit.out)
	check "poststop writes the container's total of lost events into its log ($total)" \
		test "$total" = "$dropped"
	check "nothing is silently lost: $logged logged + ${total:-?} lost = the $N audited opens" \
		test $((logged + ${total:-0})) = $N
	check "poststop's total goes to syslog too" \
		grep -q "fusebox-hook\[[0-9]*\]: fbvm-drop audit: container stopped, $dropped events lost in all" /tmp/messages
	[ "$TAP_FAILED" = 0 ] || { grep -v ' path=/secrets/key ' /tmp/audit.out | diag; tail -n 5 /tmp/messages | diag; }
	check "after the container stops nothing of fusebox's BPF is left" eventually nothing_left
else
	not_ok "a detached container with an audit-mode policy starts"
	diag </tmp/drop.out
fi
runc delete -f fbvm-drop >/dev/null 2>&1
kill "$syslogd_pid" 2>/dev/null
wait "$syslogd_pid" 2>/dev/null
rm -f /dev/log
restore_config
exit 0
