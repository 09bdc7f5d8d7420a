/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Run-time probes for BPF LSM: does this kernel load and attach BPF LSM
 * programs (global lsm/ and cgroup-scoped lsm_cgroup/)? A kernel can list
 * `bpf` among its active LSMs and still refuse the programs (lockdown,
 * missing trampoline support), so the only honest answer is to try.
 */
#ifndef FUSEBOX_LSM_PROBE_H
#define FUSEBOX_LSM_PROBE_H

/* Where a probe stopped and why; filled by the *_why() variants. */
struct fb_lsm_probe {
	/* "lsm-list", "open", "load", "attach", or NULL when BPF LSM works */
	const char *stage;
	/* positive errno of that stage; 0 for "lsm-list" and on success */
	int err;
};

/*
 * Load the allow-all lsm/file_open program, attach it and detach it at once.
 * Returns 1 if BPF LSM works, 0 if the kernel refuses it (`bpf` missing from
 * /sys/kernel/security/lsm, or EPERM/EINVAL/ENOTSUPP and kin from the kernel),
 * or a negative errno on any other failure. Prints nothing, unless
 * FUSEBOX_LIBBPF_DEBUG is set in the environment (libbpf's messages then go to
 * stderr).
 */
int fb_probe_bpf_lsm(void);
int fb_probe_bpf_lsm_why(struct fb_lsm_probe *why);

/*
 * Same for an lsm_cgroup/file_open program. It is attached to cgroup_fd (a
 * cgroup2 directory) and detached at once; with cgroup_fd < 0 it is only
 * loaded.
 */
int fb_probe_bpf_lsm_cgroup_why(int cgroup_fd, struct fb_lsm_probe *why);

#endif
