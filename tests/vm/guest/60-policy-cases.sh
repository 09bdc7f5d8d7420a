# SPDX-License-Identifier: GPL-2.0-only
# Policies in combination, with real runc containers and the real hook: a rule
# on a path inside a fusebox mount (the FUSE daemon's inodes), an admin profile
# that an annotation narrows but cannot widen, and a failure after the program
# set was loaded and the policy inserted, which must unwind all of it.
. /opt/fusebox/tests/lib/tap.sh
. /opt/fusebox/tests/lib/policy.sh

# ---- a rule inside a fusebox mount ----
layer=/opt/fusebox/layers/app
mkdir -p $layer/secret
echo layer-secret >$layer/secret/key
echo layer-public >$layer/public
mounts='[{"target": "/data", "lower": ["/opt/fusebox/layers/app"], "upper": "none"}]'
policy='{"mode": "enforce", "default": "allow", "rules": [{"path": "/data/secret", "deny": ["read"]}]}'
use_annotations "{\"fusebox.io/mounts\": $(jstr "$mounts"), \"fusebox.io/policy\": $(jstr "$policy")}"
cat >$rootfs/cmd.sh <<'SH'
grep -q ' /data fuse.fusebox ' /proc/mounts && echo mounted
cat /data/public
cat /data/secret/key
exit 0
SH
runc run fbvm-mnt >/tmp/mnt.out 2>&1
rc=$?
check "a policy next to fusebox.io/mounts: the container runs with its fusebox mount" \
	sh -c "[ $rc = 0 ] && grep -qx mounted /tmp/mnt.out"
check "files of the fusebox mount that no rule denies read" has_line /tmp/mnt.out layer-public
check "a read-deny rule on a directory inside the fusebox mount denies its files (EACCES)" \
	grep -q "can't open '/data/secret/key': Permission denied" /tmp/mnt.out
[ "$TAP_FAILED" = 0 ] || diag </tmp/mnt.out
mnt_gone() {
	nothing_left && [ ! -e /run/fusebox/fbvm-mnt ] && [ -z "$(live_pids '^[^ ]*fuseboxd ')" ]
}
check "after it stops: no fusebox BPF or audit logger, no state, no fuseboxd" eventually mnt_gone
runc delete -f fbvm-mnt >/dev/null 2>&1

# ---- a profile, narrowed by an annotation that also tries to widen it ----
mkdir -p /opt/fusebox/policies
cat >/opt/fusebox/policies/ro-etc.json <<'J'
{"mode": "enforce", "default": "allow", "rules": [{"path": "/etc", "deny": ["write", "create"]}]}
J
echo public-data >$rootfs/etc/public
printf '#!/bin/sh\necho script-ran\n' >$rootfs/tmp/hello.sh
chmod 755 $rootfs/tmp/hello.sh
policy='{"mode": "audit", "default": "allow", "rules": [{"path": "/etc", "allow": ["write", "create"]}, {"path": "/tmp", "deny": ["exec"]}]}'
use_annotations "{\"fusebox.io/profile\": \"ro-etc\", \"fusebox.io/policy\": $(jstr "$policy")}"
cat >$rootfs/cmd.sh <<'SH'
# Their error messages go elsewhere: the shell writes them in pieces that
# could run into the marker lines on the shared output.
{ echo x >>/etc/public; } 2>/dev/null || echo write-denied
/tmp/hello.sh 2>/dev/null || echo exec-denied
cat /etc/public
SH
runc run fbvm-prof >/tmp/prof.out 2>&1
rc=$?
check "a profile: its write deny holds although the annotation allows write and says audit" \
	has_line /tmp/prof.out write-denied
check "a profile narrowed by the annotation: exec under /tmp is denied" has_line /tmp/prof.out exec-denied
check "a profile: reads still work (status $rc)" has_line /tmp/prof.out public-data
[ "$TAP_FAILED" = 0 ] || diag </tmp/prof.out
check "after the profile's container stops nothing of fusebox's BPF is left" eventually nothing_left
runc delete -f fbvm-prof >/dev/null 2>&1

# ---- a failure after the set is loaded and the policy inserted ----
policy='{"mode": "enforce", "default": "allow", "rules": [{"path": "/etc", "deny": ["write"]}]}'
use_annotations "{\"fusebox.io/policy\": $(jstr "$policy"), \"fusebox.io/programs\": $(jstr '["not_cgroup"]')}"
echo 'echo container-ran' >$rootfs/cmd.sh
refused fbvm-unwind "a program that is not lsm_cgroup-only refuses the container" \
	'fusebox-hook: fbvm-unwind: fusebox.io/programs: \[0\] \\"not_cgroup\\": program .*is not lsm_cgroup/'
check "... and the policy, program set, pins and state made before the failure are undone" \
	eventually nothing_left
check "... no state directory is left" test ! -e /run/fusebox/fbvm-unwind
[ "$TAP_FAILED" = 0 ] || { fb_bpf_left | diag; diag </tmp/fbvm-unwind.out; }
runc delete -f fbvm-unwind >/dev/null 2>&1

restore_config
exit 0
