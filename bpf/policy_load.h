/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * User space of the file-access policy's kernel side: the node's one set of
 * global BPF LSM programs (bpf/policy.bpf.c), pinned under
 * FB_BPF_PIN_DIR/policy so that it outlives the hook, the containers' entries
 * in its maps, and the operator's own lsm_cgroup programs, whose links are
 * pinned per container under FB_BPF_PIN_DIR/c/<cgroup id>.
 *
 * Library code: negative errno, one-line messages in err, no output. The
 * caller serialises every function here with the node lock (state.h), so
 * that loading, inserting and removing never interleave.
 */
#ifndef FUSEBOX_POLICY_LOAD_H
#define FUSEBOX_POLICY_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "hook/lib/policy.h" /* struct fb_compiled; includes bpf/policy.h */
#include "hook/lib/programs.h"
#include "hook/lib/state.h"

#define FB_POLICY_PIN_DIR FB_BPF_PIN_DIR "/policy"
#define FB_PROGRAMS_PIN_DIR FB_BPF_PIN_DIR "/c"
#define FB_PROGRAM_MAX_SIZE (16 << 20) /* bytes of one NAME.bpf.o */
/* Distinct lsm_cgroup hooks the kernel can attach, system-wide (CGROUP_LSM_NUM). */
#define FB_LSM_CGROUP_HOOKS 10
/* flock(2)ed around every change to the pins and maps below (not on bpffs: no files there). */
#define FB_POLICY_LOCK_FILE "/run/fusebox-bpf.lock"

/* Take the node lock (blocking); returns the fd that holds it, or -errno. */
int fb_policy_lock(void);
void fb_policy_unlock(int fd);

/* The pinned maps of the program set, opened. */
struct fb_policy_set {
	int cfg_fd;
	int obj_fd;
	int levels_fd;
	int events_fd;
};
#define FB_POLICY_SET_INIT { -1, -1, -1, -1 }

/* Open the pinned set: -ENOENT when there is none (or only part of one). */
int fb_policy_set_open(struct fb_policy_set *set);

/*
 * Open the pinned set, or load the programs, attach them and pin them with
 * their maps. *created says which. Does not probe: the caller has made sure
 * that BPF LSM programs run on this kernel (a kernel without the bpf LSM
 * loads and attaches them, and never runs them).
 */
int fb_policy_set_acquire(struct fb_policy_set *set, bool *created, char *err, size_t errlen);

void fb_policy_set_close(struct fb_policy_set *set);

/* Remove the set's pins: the programs detach, the maps go with their last fd. */
int fb_policy_set_unpin(void);

/*
 * Insert one container's compiled policy: objects first, its cfg (which
 * makes the programs look at the objects) last, then its cgroup level. On
 * failure nothing of it is left.
 */
int fb_policy_set_insert(const struct fb_policy_set *set, const struct fb_compiled *c, char *err,
			 size_t errlen);

/*
 * Remove a container's entries (cfg first: from then on the programs ignore
 * it). *dropped (may be NULL) gets its count of lost audit events. Nothing to
 * remove is success.
 */
int fb_policy_set_remove(const struct fb_policy_set *set, __u64 cgroup_id, __u64 *dropped);

/* Containers with entries, or -errno. */
int fb_policy_set_count(const struct fb_policy_set *set);

/* Wait up to timeout_ms until the ring buffer's reader has caught up. 0 or -ETIMEDOUT. */
int fb_policy_set_drain(const struct fb_policy_set *set, int timeout_ms);

/* ---- the operator's programs (fusebox.io/programs) ------------------------------ */

/* FB_PROGRAMS_PIN_DIR/<cgroup id>: the pins of one container's links. */
int fb_program_pin_dir(__u64 cgroup_id, char *buf, size_t len);

/*
 * Open program_dir/NAME.bpf.o without following any symlink, check that it
 * and program_dir are owned by root and not writable by group or others,
 * load its lsm_cgroup programs (nothing else is accepted; its maps are never
 * pinned nor shared), attach them to cgroup_fd and pin the links in
 * fb_program_pin_dir(cgroup_id) as <index>_<program>. *n_links gets the count.
 * On failure nothing of this object is left attached or pinned.
 */
int fb_program_attach(const char *program_dir, const char *name, unsigned int index,
		      int cgroup_fd, __u64 cgroup_id, unsigned int *n_links, char *err,
		      size_t errlen);

/* Unpin a container's links (detaching its programs). Missing is success. */
int fb_programs_unpin(__u64 cgroup_id);

/*
 * The checks of fb_program_attach that need no kernel: NAME is valid and
 * program_dir/NAME.bpf.o is a root-owned regular file of at most
 * FB_PROGRAM_MAX_SIZE in a root-owned program_dir, reached without symlinks.
 */
int fb_program_check(const char *program_dir, const char *name, char *err, size_t errlen);

/* ---- one container, as state.json records it ------------------------------------ */

/*
 * Remove everything of a container's recorded policy, under the node lock:
 * its operator program links, its map entries (after the audit logger has
 * written the container's events, so they reach conf->log_dir/<id>.log while
 * its state still names it; events the kernel dropped are counted there),
 * and the node's program set, its audit logger and FB_BPF_PIN_DIR when no
 * container uses them any more. Works when the cgroup is gone (only its id
 * is used). Nothing to remove is success. An fb_policy_undo_fn (state.h).
 */
int fb_policy_undo(const struct fb_conf *conf, const char *id, const struct fb_state_policy *p,
		   char *err, size_t errlen);

#endif
