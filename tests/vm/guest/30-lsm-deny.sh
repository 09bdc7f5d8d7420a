# SPDX-License-Identifier: GPL-2.0-only
# A BPF LSM policy denies opening one file to one cgroup, and only there: as a
# global lsm/file_open program keyed by cgroup id, and as an lsm_cgroup
# program attached to the cgroup (inherited by its children). Removing the
# pinned link lifts the policy.
. /opt/fusebox/tests/lib/tap.sh

secret=/tmp/deny-secret
public=/tmp/deny-public
echo top-secret >$secret
echo public-data >$public
cg=/sys/fs/cgroup/fbvm-deny
mkdir -p $cg/child

# denied CG: cat of the secret, inside CG, fails with EPERM.
denied() {
	! in_cgroup "$1" cat $secret >/tmp/cat.out 2>&1 &&
		grep -q 'Operation not permitted' /tmp/cat.out
}
# allowed CG FILE WANT: cat of FILE inside CG prints WANT.
allowed() { [ "$(in_cgroup "$1" cat "$2" 2>&1)" = "$3" ]; }

for kind in global cgroup; do
	pin=/sys/fs/bpf/fbvm-deny-$kind
	check "$kind: the deny program loads, attaches and pins" vm-deny-open $kind $cg $secret $pin
	[ -e $pin ] || continue
	check "$kind: opening the file inside the cgroup fails with EPERM" denied $cg
	check "$kind: another file opens inside the cgroup" allowed $cg $public public-data
	check "$kind: the file opens outside the cgroup" allowed /sys/fs/cgroup $secret top-secret
	if [ $kind = cgroup ]; then
		check "cgroup: a child cgroup inherits the deny" denied $cg/child
	fi
	rm $pin
	# The link goes when the pin's inode is freed, after an RCU grace period.
	check "$kind: removing the pin lifts the deny" eventually allowed $cg $secret top-secret
done
rmdir $cg/child $cg
exit 0
