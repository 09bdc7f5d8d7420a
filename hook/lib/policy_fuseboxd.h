/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where BPF LSM does not run, fuseboxd decides the accesses it serves with
 * the same policy (fuseboxd -o policy=FILE,policy_root=TARGET). What it
 * cannot see is a gap: anything outside its mounts, everything on a
 * "data": "cached" mount (opens never reach the daemon), exec (mmap with
 * PROT_EXEC and memfd never reach a FUSE daemon), and a rule whose path goes
 * through a symlink in the mount's layers (the daemon sees the path the kernel
 * resolved, never the link's). A policy without gaps is
 * enforced in full; with gaps only when fusebox.conf allows degraded
 * enforcement.
 */
#ifndef FUSEBOX_POLICY_FUSEBOXD_H
#define FUSEBOX_POLICY_FUSEBOXD_H

#include <stddef.h>

#include "mounts.h"
#include "policy.h"

struct fb_policy_gaps {
	size_t n;	 /* what of the policy fuseboxd cannot enforce */
	char first[512]; /* the first of them, for a refusal */
	char all[2048];	 /* all of them, "; " between, for syslog and status */
};

/*
 * The gaps of p when only fuseboxd enforces it on mounts, in order: a deny
 * default, then each rule that restricts something (denies or, in audit
 * mode, audits) outside every mount, inside a cached mount, through a
 * symlink in a mount's layers (as they are before the container starts), or
 * on exec. A
 * rule that only allows never narrows what happens without it, so it is no
 * gap wherever it is. Rule paths are compared as written (canonical).
 */
void fb_policy_fuseboxd_gaps(const struct fb_policy *p, const struct fb_mounts *mounts,
			     struct fb_policy_gaps *out);

#endif
