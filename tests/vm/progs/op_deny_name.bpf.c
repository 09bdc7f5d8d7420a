// SPDX-License-Identifier: GPL-2.0-only
/*
 * An operator's own check for the fusebox.io/programs tests: an lsm_cgroup
 * program that denies opening any file named "forbidden" to the cgroup it is
 * attached to. Installed in the guest as program_dir/deny_forbidden.bpf.o.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

/* 1 allows, 0 denies with EPERM. */
SEC("lsm_cgroup/file_open")
int BPF_PROG(op_deny_forbidden, struct file *file)
{
	static const char want[] = "forbidden";
	const unsigned char *name = BPF_CORE_READ(file, f_path.dentry, d_name.name);
	char buf[sizeof(want)] = {};

	if (bpf_probe_read_kernel_str(buf, sizeof(buf), name) != sizeof(want))
		return 1;
	for (int i = 0; i < (int)sizeof(want); i++)
		if (buf[i] != want[i])
			return 1;
	return 0;
}
