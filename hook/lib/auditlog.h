/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The per-container audit log: <log_dir>/<container id>.log, one line per
 * policy event, written by every process that judges the container's
 * accesses (the node's audit logger for BPF LSM events, fuseboxd where it
 * enforces the policy itself) and read by `fuseboxctl audit ID`. It outlives
 * the container. Each file is bounded: a line that would take it past
 * FB_AUDIT_LOG_MAX renames it to <id>.log.1 (replacing the older one) and
 * starts a new one, so at most about 2 * FB_AUDIT_LOG_MAX per container stay.
 *
 * A line: "<UTC time> <id> pid=N uid=N comm=C op=OP rights=R path=P
 * verdict=deny|audit by=WHY", or "<UTC time> <id> audit: N events lost (...)".
 * Writers serialise on flock(2) of the file, so lines never interleave and a
 * rotation by one writer is seen by the others.
 */
#ifndef FUSEBOX_AUDITLOG_H
#define FUSEBOX_AUDITLOG_H

#include <stddef.h>
#include <time.h>

#define FB_AUDIT_LOG_MAX (1 << 20)
#define FB_AUDIT_LINE_MAX 8192 /* longer lines are cut */

/* "<log_dir>/<id>.log" into buf; -ENAMETOOLONG or -EINVAL (not a container id). */
int fb_audit_log_path(const char *log_dir, const char *id, char *buf, size_t len);

/* Create log_dir (0750; missing parents 0755) if missing. */
int fb_audit_log_dir(const char *log_dir);

/* "2026-01-02T03:04:05.678Z" for a CLOCK_REALTIME time. */
void fb_audit_time(const struct timespec *t, char *buf, size_t len);

/* Append line (no newline) to the log at path, rotating it first if it is full. */
int fb_audit_log_append(const char *path, const char *line);

struct fb_conf;
/*
 * Bound the number of logs: keep the conf->log_keep newest (by the time of their last
 * line) and remove the older ones with their rotated halves, except those of containers
 * that still have state (running). Returns how many were removed, or -errno.
 */
int fb_audit_log_prune(const struct fb_conf *conf);

#endif
