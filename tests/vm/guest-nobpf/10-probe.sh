# SPDX-License-Identifier: GPL-2.0-only
# Booted without the bpf LSM, the kernel still loads and attaches BPF LSM
# programs but never runs them: a policy would silently do nothing. The probe
# must say no, from the LSM list and, with securityfs out of sight, from
# seeing its attached program never run.
. /opt/fusebox/tests/lib/tap.sh

lsm=$(cat /sys/kernel/security/lsm 2>&1)
case ",$lsm," in
*,bpf,*) not_ok "bpf is not an active LSM in this boot ($lsm)" ;;
*) ok "bpf is not an active LSM in this boot ($lsm)" ;;
esac

secret=/tmp/nobpf-secret
echo top-secret >$secret
cg=/sys/fs/cgroup/fbvm-nobpf
mkdir -p $cg
check "a deny program still loads, attaches and pins" \
	vm-deny-open global $cg $secret /sys/fs/bpf/fbvm-nobpf
check "but the file it denies opens inside the cgroup" \
	sh -c "[ \"\$(echo \$\$ >$cg/cgroup.procs && cat $secret)\" = top-secret ]"
rm -f /sys/fs/bpf/fbvm-nobpf

raw=$(vm-probe --raw 2>&1)
check "fb_probe_bpf_lsm() returns 0 (got '$raw')" [ "$raw" = 0 ]
vm-probe >/tmp/probe.out 2>&1
check "the probe says bpf-lsm: no, naming the LSM list" has_line /tmp/probe.out \
	"bpf-lsm: no (bpf is not in /sys/kernel/security/lsm; boot with lsm=...,bpf)"
[ "$TAP_FAILED" = 0 ] || diag </tmp/probe.out

umount /sys/kernel/security
vm-probe >/tmp/probe.out 2>&1
check "without securityfs, the probe sees its lsm program never run and says no" \
	has_line /tmp/probe.out "bpf-lsm: no (attached, but never ran: bpf is not an active LSM)"
check "without securityfs, the same for its lsm_cgroup program" \
	has_line /tmp/probe.out "bpf-lsm-cgroup: no (attached, but never ran: bpf is not an active LSM)"
[ "$TAP_FAILED" = 0 ] || diag </tmp/probe.out
mount -t securityfs securityfs /sys/kernel/security
rmdir $cg
exit 0
