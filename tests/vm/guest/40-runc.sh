# SPDX-License-Identifier: GPL-2.0-only
# runc runs a busybox container in the guest, in its own cgroup2 directory,
# and an lsm_cgroup policy attached to that cgroup between `runc create` and
# `runc start` applies to the container's processes.
. /opt/fusebox/tests/lib/tap.sh

bundle=/opt/fusebox/bundle
cd $bundle || exit 1

# The container runs /cmd.sh (config.json: args /bin/sh /cmd.sh).
cat >rootfs/cmd.sh <<'SH'
echo hello-from-container
cat /proc/self/cgroup
SH
runc run fbvm-hello >/tmp/runc.out 2>&1
rc=$?
if [ $rc = 0 ] && has_line /tmp/runc.out hello-from-container; then
	ok "runc runs a busybox container in the guest"
else
	not_ok "runc runs a busybox container in the guest (status $rc)"
	diag </tmp/runc.out
fi
# No cgroup namespace in runc's default spec: the container sees its path from the root.
if has_line /tmp/runc.out "0::/fbvm-hello"; then
	ok "the container runs in its own cgroup2 directory (/fbvm-hello)"
else
	not_ok "the container runs in its own cgroup2 directory (/fbvm-hello)"
	diag </tmp/runc.out
fi
runc delete -f fbvm-hello >/dev/null 2>&1

cat >rootfs/cmd.sh <<'SH'
cat /etc/secret
cat /etc/public
SH
if ! runc create fbvm-deny >/tmp/runc-deny.out 2>&1; then
	not_ok "runc create of a container for the deny test"
	diag </tmp/runc-deny.out
	exit 0
fi
pid=$(runc state fbvm-deny | sed -n 's/^ *"pid": \([0-9]*\),$/\1/p')
cg=$(sed -n 's/^0:://p' /proc/${pid:-0}/cgroup 2>/dev/null)
if [ -z "$cg" ] || [ "$cg" = / ]; then
	not_ok "the created container (pid '$pid') has a cgroup of its own (got '$cg')"
	runc delete -f fbvm-deny >/dev/null 2>&1
	exit 0
fi
secret=$bundle/rootfs/etc/secret
check "lsm_cgroup deny attaches to the created container's cgroup ($cg)" \
	vm-deny-open cgroup /sys/fs/cgroup$cg $secret /sys/fs/bpf/fbvm-runc
check "outside the container, the file the container may not open still opens" \
	has_line $secret top-secret
runc start fbvm-deny
stopped() { runc state fbvm-deny 2>/dev/null | grep -q '"status": "stopped"'; }
eventually stopped || not_ok "the deny-test container exits within 5 s"
runc delete -f fbvm-deny >/dev/null 2>&1
rm -f /sys/fs/bpf/fbvm-runc
check "inside the container, opening the denied file fails with EPERM" \
	grep -q "can't open '/etc/secret': Operation not permitted" /tmp/runc-deny.out
check "inside the container, other files still open" has_line /tmp/runc-deny.out public-data
[ "$TAP_FAILED" = 0 ] || diag </tmp/runc-deny.out
exit 0
