// SPDX-License-Identifier: GPL-2.0-only
/*
 * Smallest BPF LSM programs there are: they allow every file_open and count
 * their calls. The kernel either loads and attaches them or says why not, and
 * the count shows that an attached program really runs. Neither program
 * changes any verdict.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* Calls of either program, read by the loader through the mmap'ed .bss. */
__u64 fb_probe_calls = 0;

/* Global hook: pass on the verdict of the LSMs before us unchanged. */
SEC("lsm/file_open")
int BPF_PROG(fb_probe_file_open, struct file *file, int ret)
{
	__sync_fetch_and_add(&fb_probe_calls, 1);
	return ret;
}

/* Cgroup-scoped hook (kernel >= 6.0): 1 means allow. */
SEC("lsm_cgroup/file_open")
int BPF_PROG(fb_probe_cgroup_file_open, struct file *file)
{
	__sync_fetch_and_add(&fb_probe_calls, 1);
	return 1;
}
