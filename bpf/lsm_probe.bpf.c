// SPDX-License-Identifier: GPL-2.0-only
/*
 * Smallest BPF LSM programs there are: they allow every file_open. The kernel
 * either loads and attaches them or says why not, which is all the probe in
 * lsm_probe.c wants to know. Neither program changes any verdict.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* Global hook: pass on the verdict of the LSMs before us unchanged. */
SEC("lsm/file_open")
int BPF_PROG(fb_probe_file_open, struct file *file, int ret)
{
	return ret;
}

/* Cgroup-scoped hook (kernel >= 6.0): 1 means allow. */
SEC("lsm_cgroup/file_open")
int BPF_PROG(fb_probe_cgroup_file_open, struct file *file)
{
	return 1;
}
