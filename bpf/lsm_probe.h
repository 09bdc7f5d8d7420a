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
	/*
	 * NULL when BPF LSM works; else "lsm-list" (bpf is not an active LSM),
	 * "open" (the BPF object did not parse), "load", "attach", or "run"
	 * (attached, but the program never ran: the bpf LSM is not active)
	 */
	const char *stage;
	/* positive errno of "open", "load" or "attach"; 0 otherwise */
	int err;
};

/*
 * Load the allow-all lsm/file_open program, attach it, open a file to see it
 * run, and detach it. Returns 1 if BPF LSM works, 0 if the kernel refuses it
 * (`bpf` missing from /sys/kernel/security/lsm or the program never runs, or
 * EPERM/EACCES/EINVAL/ENOTSUPP/EOPNOTSUPP/ESRCH/ENOENT from loading or
 * attaching), or a negative errno on any other failure. Prints nothing, unless
 * FUSEBOX_LIBBPF_DEBUG is set in the environment (libbpf's messages then go to
 * stderr). Swaps libbpf's process-wide print callback while it runs and puts
 * the caller's back: not for use while other threads use libbpf.
 */
int fb_probe_bpf_lsm(void);
int fb_probe_bpf_lsm_why(struct fb_lsm_probe *why);

/*
 * Same for an lsm_cgroup/file_open program, attached to cgroup_fd (a cgroup2
 * directory the caller is in, such as the hierarchy's root). With
 * cgroup_fd < 0 it is only loaded, and 1 means "loads".
 */
int fb_probe_bpf_lsm_cgroup_why(int cgroup_fd, struct fb_lsm_probe *why);

#endif
