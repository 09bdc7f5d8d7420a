/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fusebox-hook's policy steps: the fusebox.io/policy, /profile and /programs
 * annotations into one request (every check that needs no kernel), the
 * kernel check, and applying the request to a container's cgroup.
 */
#ifndef FUSEBOX_POLICY_SETUP_H
#define FUSEBOX_POLICY_SETUP_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "conf.h"
#include "mounts.h"
#include "policy.h"
#include "programs.h"
#include "state.h"

#define FB_POLICY_FILE "policy.json" /* in the state dir, for fuseboxd */

struct fb_policy_req {
	const char *annotation;	  /* the first policy annotation present, for messages */
	struct fb_policy *policy; /* effective (profile + annotation); NULL: programs only */
	struct fb_programs programs;
	enum fb_enforcement enforcement; /* set by fb_policy_kernel_check() */
	char *not_enforced;		 /* FB_ENFORCE_FUSEBOXD_DEGRADED: the gaps */
};

/* True when ann carries any of the policy annotations. */
bool fb_policy_wanted(const json_t *ann);

/*
 * Parse and check the annotations: the profile (from conf->policy_dir),
 * the annotation policy (which can only narrow the profile), and the program
 * names, each program_dir/NAME.bpf.o checked without loading it.
 */
int fb_policy_req_parse(const struct fb_conf *conf, const json_t *ann, struct fb_policy_req *req,
			char *err, size_t errlen);
void fb_policy_req_free(struct fb_policy_req *req);

/*
 * Can this node enforce the request, and how (into req->enforcement)? With
 * BPF LSM loading and running (a program set already pinned on this boot says
 * so; otherwise the probe decides): bpf-lsm. Without it, operator programs
 * are refused; a policy fuseboxd can enforce in full on the container's
 * mounts (policy_fuseboxd.h) is left to fuseboxd, one with gaps only with
 * degraded_enforcement = yes (the gaps into req->not_enforced). Refusals name
 * the missing kernel feature and the first gap.
 */
int fb_policy_kernel_check(const struct fb_conf *conf, const struct fb_mounts *mounts,
			   struct fb_policy_req *req, char *err, size_t errlen);

/* True when fuseboxd, not the kernel, enforces the request. */
static inline bool fb_policy_by_fuseboxd(const struct fb_policy_req *req)
{
	return req->enforcement == FB_ENFORCE_FUSEBOXD ||
	       req->enforcement == FB_ENFORCE_FUSEBOXD_DEGRADED;
}

/*
 * The effective policy as JSON for fuseboxd -o policy=FILE: written to
 * <state dir>/policy.json (0600; removed with the state dir), path into
 * *file (allocated).
 */
int fb_policy_write_file(const struct fb_conf *conf, const char *id,
			 const struct fb_policy_req *req, char **file, char *err, size_t errlen);

/*
 * Apply the request to the container whose init is pid (rootfs: its root
 * directory as a host path): find its cgroup2 directory, record the undo in
 * st (written to state.json) before the first kernel step, insert the
 * compiled policy into the node's program set (loading and pinning the set
 * if there is none) and attach the operator's programs to the cgroup. On
 * failure the caller undoes st->policy with fb_policy_undo().
 */
int fb_policy_apply(const struct fb_conf *conf, const struct fb_policy_req *req, pid_t pid,
		    const char *rootfs, struct fb_state *st, char *err, size_t errlen);

#endif
