# SPDX-License-Identifier: GPL-2.0-only
# The guest kernel runs BPF LSM: `bpf` is in its active LSM list.
. /opt/fusebox/tests/lib/tap.sh

lsm=$(cat /sys/kernel/security/lsm 2>&1)
case ",$lsm," in
*,bpf,*) ok "bpf is an active LSM in the guest ($lsm)" ;;
*) not_ok "bpf is an active LSM in the guest (lsm list: $lsm)" ;;
esac
exit 0
