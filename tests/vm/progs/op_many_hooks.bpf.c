// SPDX-License-Identifier: GPL-2.0-only
/*
 * Operator programs on many lsm_cgroup hooks, each allowing everything, for
 * the kernel's limit of 10 distinct hooks for the whole system (CGROUP_LSM_NUM):
 * built as is, eleven hooks, more than the kernel has (program_dir/
 * many_hooks.bpf.o in the guest); with -DFB_TEN_HOOKS, ten hooks without
 * file_open, which take every slot while they are attached (ten_hooks.bpf.o).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* One allow-all program per hook; 1 allows. */
#define ALLOW(hook)                        \
	SEC("lsm_cgroup/" #hook)           \
	int BPF_PROG(allow_##hook)         \
	{                                  \
		return 1;                  \
	}

#ifndef FB_TEN_HOOKS
ALLOW(file_open)
#endif
ALLOW(file_permission)
ALLOW(file_ioctl)
ALLOW(file_lock)
ALLOW(file_fcntl)
ALLOW(file_receive)
ALLOW(file_mprotect)
ALLOW(mmap_file)
ALLOW(inode_getattr)
ALLOW(inode_readlink)
ALLOW(inode_setattr)
