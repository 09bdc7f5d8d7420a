/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The node's audit logger: one process per node, alive while the policy
 * program set is pinned, the only reader of its ring buffer. It writes every
 * event to its container's log (hook/lib/auditlog.h) and to syslog, so that
 * events outlive the container and the set. The hook starts it when it loads
 * the set (or finds one without a logger); it is stopped, after reading what
 * is left, when the last container's policy is removed and the set unpinned.
 * Like fuseboxd it runs in its own session with stdio on /dev/null: the
 * runtime waits for the hook's pipes to close.
 *
 * It holds an flock(2) on FB_AUDIT_LOGGER_LOCK for its lifetime, with its
 * pid in the file: a held lock means a logger runs, and which one.
 * Start and stop run under the node lock (fb_policy_lock()).
 */
#ifndef FUSEBOX_AUDIT_LOGGER_H
#define FUSEBOX_AUDIT_LOGGER_H

#include <stdbool.h>
#include <stddef.h>

#include "hook/lib/conf.h"

#define FB_AUDIT_LOGGER_LOCK "/run/fusebox-audit.pid"
#define FB_AUDIT_LOGGER_ARG "audit-logger" /* fusebox-hook [--config FILE] audit-logger */

/* Is a logger running? */
bool fb_audit_logger_running(void);

/*
 * Start the logger (/proc/self/exe audit-logger: the caller is fusebox-hook)
 * unless one runs, and wait until it reads the ring buffer.
 */
int fb_audit_logger_start(const struct fb_conf *conf, char *err, size_t errlen);

/* Stop the running logger (it reads what is left first), if any. */
int fb_audit_logger_stop(int timeout_ms);

/*
 * The logger itself: read the pinned ring buffer until SIGTERM or until the
 * set is unpinned. ready_fd gets "ready\n" once it reads. Returns the exit status.
 */
int fb_audit_logger_run(const struct fb_conf *conf, int ready_fd);

#endif
