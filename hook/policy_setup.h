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
#include "policy.h"
#include "programs.h"
#include "state.h"

struct fb_policy_req {
	const char *annotation;	  /* the first policy annotation present, for messages */
	struct fb_policy *policy; /* effective (profile + annotation); NULL: programs only */
	struct fb_programs programs;
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
 * Can this node enforce the request? BPF LSM must load and run (a program set
 * already pinned on this boot says so; otherwise the probe decides).
 */
int fb_policy_kernel_check(const struct fb_conf *conf, const struct fb_policy_req *req, char *err,
			   size_t errlen);

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
