/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per-container state under <state_dir>/<id>/: what the hook created, so that
 * poststop (or `fuseboxctl cleanup`) can undo exactly that.
 */
#ifndef FUSEBOX_STATE_H
#define FUSEBOX_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "conf.h"
#include "mounts.h"

#define FB_STATE_FILE "state.json"
#define FB_STATE_MAX (256 * 1024)

struct fb_state_mount {
	char *target;
	pid_t daemon_pid; /* 0: not started */
	unsigned long long daemon_start;
	enum fb_upper_kind upper_kind;
	char *upper; /* host path of the upper (ephemeral: inside the state dir) */
};

/*
 * The container's file-access policy in the kernel (bpf/policy_load.h):
 * recorded before the first BPF step, so that an undo removes whatever of it
 * exists (each removal is idempotent).
 */
struct fb_state_policy {
	bool on;	       /* entries for cgroup_id may exist */
	unsigned long long cgroup_id;
	char *cgroup;	       /* the cgroup2 directory, for fuseboxctl status */
	unsigned int n_programs; /* operator programs named (links under FB_PROGRAMS_PIN_DIR) */
};

/* Who enforces the container's policy (state.json "enforcement"). */
enum fb_enforcement {
	FB_ENFORCE_NONE,	      /* no policy annotation */
	FB_ENFORCE_BPF_LSM,	      /* "bpf-lsm": the kernel, everywhere in the container */
	FB_ENFORCE_FUSEBOXD,	      /* "fuseboxd": the whole policy, by fuseboxd in its mounts */
	FB_ENFORCE_FUSEBOXD_DEGRADED, /* "fuseboxd-degraded": only what falls in the mounts */
};

/* "bpf-lsm", ...; NULL for FB_ENFORCE_NONE. */
const char *fb_enforcement_name(enum fb_enforcement e);

struct fb_state {
	char *id;
	char *rootfs;
	pid_t container_pid;
	struct fb_state_mount m[FB_MOUNTS_MAX];
	size_t n;
	struct fb_state_policy policy;
	enum fb_enforcement enforcement;
	char *not_enforced; /* fuseboxd-degraded: what of the policy is not enforced */
};

/*
 * Undo of a recorded policy: remove its kernel entries and pins. Supplied by
 * the callers that link libbpf (fusebox-hook, fuseboxctl), NULL for none.
 */
typedef int (*fb_policy_undo_fn)(const struct fb_conf *conf, const char *id,
				 const struct fb_state_policy *p, char *err, size_t errlen);

/* "<state_dir>/<id>" into buf. */
int fb_state_path(const struct fb_conf *conf, const char *id, char *buf, size_t len);

/* Create <state_dir>/<id> (0700); -EEXIST when it is already there. */
int fb_state_create_dir(const struct fb_conf *conf, const char *id, char *err, size_t errlen);

int fb_state_write(const struct fb_conf *conf, const struct fb_state *st);
/* -ENOENT when there is no state for id. */
int fb_state_read(const struct fb_conf *conf, const char *id, struct fb_state *st, char *err,
		  size_t errlen);
void fb_state_free(struct fb_state *st);

/*
 * Stop a daemon recorded as (pid, starttime): SIGTERM, then SIGKILL after
 * timeout_ms. Success when it is gone, or the pid now belongs to someone else.
 */
int fb_stop_daemon(pid_t pid, unsigned long long start, int timeout_ms);

/*
 * Undo everything recorded for id: remove the policy (with undo_policy; a
 * recorded policy without one is an error and the state is kept), stop
 * daemons, remove ephemeral uppers and the state dir. Nothing to do is
 * success. Idempotent.
 */
int fb_teardown(const struct fb_conf *conf, const char *id, fb_policy_undo_fn undo_policy,
		char *err, size_t errlen);

/* Ids that have state, for fuseboxctl. Returns the count or -errno. */
int fb_state_list(const struct fb_conf *conf, char ***ids);

#endif
