// SPDX-License-Identifier: GPL-2.0-only
/*
 * An operator's own check that allows everything, for the VM benchmark
 * (tests/bench/vm.sh): what one fusebox.io/programs object costs on open and
 * stat when its checks decide nothing. Installed in the guest as
 * program_dir/allow_all.bpf.o.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* 1 allows, 0 denies with EPERM. */
SEC("lsm_cgroup/file_open")
int BPF_PROG(op_allow_open, struct file *file)
{
	return 1;
}

SEC("lsm_cgroup/inode_getattr")
int BPF_PROG(op_allow_getattr, const struct path *path)
{
	return 1;
}
