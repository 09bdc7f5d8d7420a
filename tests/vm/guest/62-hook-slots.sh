# SPDX-License-Identifier: GPL-2.0-only
# The operator's programs (fusebox.io/programs) and the kernel's 10 lsm_cgroup
# hook slots, in real runc containers with the real hook. The kernel attaches
# lsm_cgroup programs on at most 10 distinct hooks for the whole system. An
# object that needs 11 is refused before anything is attached; while one
# container's programs hold all 10, another container's program on an 11th hook
# is refused, naming the shared limit, and leaves nothing; once the first
# container is gone, the slots are free again.
. /opt/fusebox/tests/lib/tap.sh
. /opt/fusebox/tests/lib/policy.sh

echo 'echo container-ran' >$rootfs/cmd.sh
use_annotations "{\"fusebox.io/programs\": $(jstr '["many_hooks"]')}"
refused fbvm-many "a program object on 11 lsm_cgroup hooks refuses the container, naming the limit" \
	'fusebox-hook: fbvm-many: fusebox.io/programs: \[0\] \\"many_hooks\\": its programs use 11 lsm_cgroup hooks; the kernel has 10 for the whole system'
check "... and nothing of it is left" eventually nothing_left
[ "$TAP_FAILED" = 0 ] || { fb_bpf_left | diag; diag </tmp/fbvm-many.out; }
runc delete -f fbvm-many >/dev/null 2>&1

use_annotations "{\"fusebox.io/programs\": $(jstr '["ten_hooks"]')}"
echo 'sleep 60' >$rootfs/long.sh
sed 's|"/cmd.sh"|"/long.sh"|' config.json >config.long && mv config.long config.json
if runc run -d fbvm-ten >/tmp/ten.out 2>&1 </dev/null; then
	ok "a container whose programs take all 10 lsm_cgroup hook slots starts"
	use_annotations "{\"fusebox.io/programs\": $(jstr '["deny_forbidden"]')}"
	refused fbvm-eleventh "meanwhile another container's program on an 11th hook is refused, naming the shared slots" \
		"fusebox-hook: fbvm-eleventh: fusebox.io/programs: \\[0\\] \\\\\"deny_forbidden\\\\\": attaching op_deny_forbidden of deny_forbidden.bpf.o: Invalid argument (the kernel's 10 lsm_cgroup hook slots are shared by the whole system: are they all in use?)"
	eleventh_gone() {
		[ ! -e /run/fusebox/fbvm-eleventh ] &&
			[ "$(ls /sys/fs/bpf/fusebox/c 2>/dev/null | wc -l)" = 1 ]
	}
	check "... and leaves no state and no pins (only the first container's remain)" eleventh_gone
	[ "$TAP_FAILED" = 0 ] || { fb_bpf_left | diag; diag </tmp/fbvm-eleventh.out; }
	runc delete -f fbvm-eleventh >/dev/null 2>&1
	stop_detached fbvm-ten
	check "when the container holding the slots is gone, nothing of it is left" eventually nothing_left
else
	not_ok "a container whose programs take all 10 lsm_cgroup hook slots starts"
	diag </tmp/ten.out
fi
use_annotations "{\"fusebox.io/programs\": $(jstr '["deny_forbidden"]')}"
echo no >$rootfs/etc/forbidden
printf 'cat /etc/forbidden\necho container-ran\n' >$rootfs/cmd.sh
runc run fbvm-after >/tmp/after.out 2>&1
check "then the slots are free again: a program on another hook attaches and denies" \
	grep -q "can't open '/etc/forbidden': Operation not permitted" /tmp/after.out
[ "$TAP_FAILED" = 0 ] || diag </tmp/after.out
check "... and nothing is left after it stops" eventually nothing_left
runc delete -f fbvm-after >/dev/null 2>&1

restore_config
exit 0
