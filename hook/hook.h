/* SPDX-License-Identifier: GPL-2.0-only */
/* fusebox-hook internals: the steps of createRuntime, each with its undo. */
#ifndef FUSEBOX_HOOK_H
#define FUSEBOX_HOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "conf.h"
#include "mounts.h"

/*
 * In a child that enters the mount namespace of the process behind pidfd:
 * resolve target inside rootfs (symlinks resolved as if rootfs were /),
 * create missing directories, and mount the FUSE connection fusefd there.
 */
int fb_ns_mount_fuse(int pidfd, const char *rootfs, const char *target, int fusefd, bool ro,
		     char *err, size_t errlen);

/* Undo of fb_ns_mount_fuse: lazily unmount target in that namespace. */
int fb_ns_umount(int pidfd, const char *rootfs, const char *target);

/*
 * Start fuseboxd for one mount, detached from the runtime (own session, stdio
 * not inherited), serving fusefd; with policy_file (else NULL) it enforces
 * that policy on the mount (-o policy=FILE,policy_root=TARGET) and logs its
 * denials to audit_log (-o audit_log=FILE, if not NULL). On success *pid is
 * the daemon and *ready_fd the read end of its readiness pipe.
 */
int fb_spawn_daemon(const struct fb_conf *conf, const struct fb_mount_spec *m,
		    const char *upper, const char *policy_file, const char *audit_log,
		    const char *logpath, int fusefd, pid_t *pid, int *ready_fd, char *err,
		    size_t errlen);

/*
 * Wait until the daemon reports "ready" on ready_fd, or fails (EOF), or
 * timeout_ms passes. On failure the last line of logpath goes into err.
 */
int fb_wait_ready(int ready_fd, int timeout_ms, const char *logpath, char *err, size_t errlen);

#endif
