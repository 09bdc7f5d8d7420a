# SPDX-License-Identifier: GPL-2.0-only
# The BPF LSM probe says yes on a kernel that runs BPF LSM, quietly, and its
# other answers agree with the kernel's build configuration.
. /opt/fusebox/tests/lib/tap.sh

raw=$(vm-probe --raw 2>/tmp/probe.err)
if [ "$raw" = 1 ] && [ ! -s /tmp/probe.err ]; then
	ok "fb_probe_bpf_lsm() returns 1 in the guest and prints nothing"
else
	not_ok "fb_probe_bpf_lsm() returns 1 in the guest and prints nothing (got '$raw')"
	diag </tmp/probe.err
fi

vm-probe >/tmp/probe.out 2>/tmp/probe.err
rc=$?
check "the probe exits 0 and writes nothing to stderr" \
	sh -c "[ $rc = 0 ] && [ ! -s /tmp/probe.err ]"
check "the probe reports bpf-lsm: yes" has_line /tmp/probe.out "bpf-lsm: yes"
check "the probe reports bpf-lsm-cgroup: yes (lsm_cgroup attach to the cgroup2 root)" \
	has_line /tmp/probe.out "bpf-lsm-cgroup: yes"
check "the probe finds cgroup2 at /sys/fs/cgroup, unified" \
	has_line /tmp/probe.out "cgroup2: /sys/fs/cgroup (unified)"
check "the probe reports fuse: yes (built in, or fuse.ko loaded by /init)" \
	has_line /tmp/probe.out "fuse: yes"
if grep -qx 'CONFIG_FUSE_PASSTHROUGH=y' /opt/fusebox/kconfig; then
	want=yes
else
	want=no
fi
check "the probe's fuse-passthrough answer ($want) matches the kernel config" \
	grep -qE "^fuse-passthrough: $want( |\$)" /tmp/probe.out
[ "$TAP_FAILED" = 0 ] || diag </tmp/probe.out

if [ -x /opt/fusebox/bin/fuseboxctl ]; then
	fuseboxctl probe >/tmp/ctl.out 2>&1
	check "fuseboxctl probe reports bpf-lsm: yes" has_line /tmp/ctl.out "bpf-lsm: yes"
else
	skip "fuseboxctl probe reports bpf-lsm: yes" "fuseboxctl is not built"
fi
exit 0
