// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test-only BPF LSM policy for the VM tests: deny opening one file (by device
 * and inode) to the processes of one cgroup, either from a global lsm/ program
 * that compares cgroup ids, or from an lsm_cgroup/ program attached to the
 * cgroup itself (which its child cgroups inherit).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define VM_EPERM 1

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load. target_dev is the kernel's major << 20 | minor. */
const volatile __u64 target_cgid = 0;
const volatile __u64 target_ino = 0;
const volatile __u32 target_dev = 0;

static bool is_target(struct file *file)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);

	return inode && BPF_CORE_READ(inode, i_ino) == target_ino &&
	       BPF_CORE_READ(inode, i_sb, s_dev) == target_dev;
}

SEC("lsm/file_open")
int BPF_PROG(vm_deny_open, struct file *file, int ret)
{
	if (ret)
		return ret;
	if (bpf_get_current_cgroup_id() != target_cgid)
		return 0;
	return is_target(file) ? -VM_EPERM : 0;
}

/* 1 allows, 0 denies with EPERM. */
SEC("lsm_cgroup/file_open")
int BPF_PROG(vm_deny_open_cgroup, struct file *file)
{
	return is_target(file) ? 0 : 1;
}
