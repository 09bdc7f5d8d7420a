// SPDX-License-Identifier: GPL-2.0-only
/*
 * File-access policy enforced by the daemon itself, for hosts whose kernel
 * does not run BPF LSM programs: every request that the policy's rights
 * cover and that reaches this mount is decided with the same resolver as
 * the kernel programs' compiler (hook/lib/policy.c) on the object's
 * container path, policy_root + its path in the mount. A denial is EACCES
 * (enforce) or only reported (audit); both are logged, one line each.
 *
 * What the daemon cannot see it cannot decide: mmap(PROT_EXEC) of an open
 * file, memfd, opens on a noopen mount. The hook only hands a policy to a
 * fuseboxd whose mount can enforce it (see hook/policy_setup.c).
 */
#include "fuseboxd.h"

#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <syslog.h>

#include "auditlog.h"
#include "path.h"
#include "policy.h"

#ifndef __FMODE_EXEC
#define __FMODE_EXEC 0x20 /* in the open flags of an execve() */
#endif

struct fbx_access {
	struct fb_policy *p;
	__u32 may_deny; /* rights some rule, pin or the default can deny */
	char *root; /* container path of the mount's root, no trailing '/' ("" for /) */
	char *log;  /* the container's audit log, or NULL */
	char *id;   /* the container, as the log's name says */
	atomic_uint_fast64_t lost; /* lines that could not be written to it */
};

/* audit_log=DIR/ID.log: the id is the name. */
static int set_log(struct fbx_access *a, const char *log)
{
	const char *base = strrchr(log, '/') + 1;
	size_t len = strlen(base);

	if (len <= 4 || !streq(base + len - 4, ".log")) {
		fbx_err("audit_log=%s: expected DIR/ID.log", log);
		return -EINVAL;
	}
	a->log = strdup(log);
	a->id = strndup(base, len - 4);
	return a->log && a->id ? 0 : -ENOMEM;
}

int fbx_access_load(struct fbx_fs *fs, const char *file, const char *root, const char *audit_log)
{
	_cleanup_free_ char *json = NULL;
	struct fbx_access *a;
	char err[512];
	const char *why;
	ssize_t n;
	int r;

	if (fb_path_check_abs(root, &why) < 0) {
		fbx_err("policy_root=%s: %s", root, why);
		return -EINVAL;
	}
	n = read_full_file(AT_FDCWD, file, FB_POLICY_MAX_SIZE, &json);
	if (n < 0) {
		fbx_err("policy=%s: %s", file, n == -EFBIG ? "larger than 64 KiB" : strerror((int)-n));
		return (int)n;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	r = fb_policy_parse(json, (size_t)n, file, &a->p, err, sizeof(err));
	if (r < 0) {
		fbx_err("policy=%s", err);
		free(a);
		return r;
	}
	a->may_deny = fb_policy_may_deny(a->p);
	a->root = strdup(streq(root, "/") ? "" : root);
	r = a->root ? 0 : -ENOMEM;
	if (r == 0 && audit_log)
		r = set_log(a, audit_log);
	if (r < 0) {
		fbx_access_free(a);
		return r;
	}
	fs->access = a;
	return 0;
}

void fbx_access_free(struct fbx_access *a)
{
	if (!a)
		return;
	fb_policy_free(a->p);
	free(a->root);
	free(a->log);
	free(a->id);
	free(a);
}

/* root + the node's path in the mount (+ "/" name), into buf. */
static int container_path(struct fbx_fs *fs, const struct fbx_node *n, const char *name,
			  char *buf, size_t size)
{
	const struct fbx_node *chain[FB_POLICY_MAX_DEPTH + 1];
	size_t depth = 0, pos;
	int w;

	pthread_rwlock_rdlock(&fs->tree_lock);
	for (; n && n->parent; n = n->parent) {
		if (depth == ARRAY_SIZE(chain)) {
			pthread_rwlock_unlock(&fs->tree_lock);
			return -ENAMETOOLONG; /* deeper than any rule: fail closed */
		}
		chain[depth++] = n;
	}
	w = snprintf(buf, size, "%s", fs->access->root);
	pos = (size_t)w;
	while (depth && pos < size)
		pos += (size_t)snprintf(buf + pos, size - pos, "/%s", chain[--depth]->name);
	pthread_rwlock_unlock(&fs->tree_lock);
	if (name && pos < size)
		pos += (size_t)snprintf(buf + pos, size - pos, "/%s", name);
	if (pos == 0 && pos < size)
		pos += (size_t)snprintf(buf, size, "/");
	return pos < size ? 0 : -ENAMETOOLONG;
}

/* The caller's comm, for the audit log. */
static void comm_of(pid_t pid, char *buf, size_t len)
{
	char file[64];
	FILE *f;

	snprintf(buf, len, "?");
	snprintf(file, sizeof(file), "/proc/%d/comm", (int)pid);
	f = fopen(file, "re");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/*
 * One line in the container's audit log, as the node's audit logger writes
 * BPF LSM events (op=fuse: the daemon sees FUSE requests, not system calls).
 */
static void log_event(struct fbx_access *a, const struct fuse_ctx *ctx, const char *path,
		      __u32 right, const struct fb_decision *d)
{
	char line[FB_AUDIT_LINE_MAX], when[40], comm[32], by[32];
	struct timespec now;
	uint64_t lost = atomic_exchange(&a->lost, 0);
	int n = 0, r;

	if (d->by == FB_BY_RULE)
		snprintf(by, sizeof(by), "rules[%d]", d->rule);
	else if (d->by == FB_BY_PIN)
		snprintf(by, sizeof(by), "pin:rules[%d]", d->rule);
	else
		snprintf(by, sizeof(by), "%s", d->by == FB_BY_DEFAULT ? "default" : "walk-limit");
	comm_of(ctx->pid, comm, sizeof(comm));
	clock_gettime(CLOCK_REALTIME, &now);
	fb_audit_time(&now, when, sizeof(when));
	if (lost) {
		snprintf(line, sizeof(line), "%s %s audit: %llu events lost (writing this log failed)",
			 when, a->id, (unsigned long long)lost);
		if (fb_audit_log_append(a->log, line) < 0)
			n = (int)lost;
	}
	snprintf(line, sizeof(line),
		 "%s %s pid=%d uid=%u comm=%s op=fuse rights=%s path=%s verdict=%s by=%s", when,
		 a->id, (int)ctx->pid, (unsigned)ctx->uid, comm, fb_right_name(right), path,
		 a->p->mode == FB_MODE_AUDIT ? "audit" : "deny", by);
	r = fb_audit_log_append(a->log, line);
	if (r < 0 || n) {
		if (atomic_fetch_add(&a->lost, (uint64_t)n + (r < 0)) == 0)
			fbx_log(FUSE_LOG_ERR, "audit_log=%s: %s (counting lost events)", a->log,
				strerror(r < 0 ? -r : EIO));
	}
}

static void report(fuse_req_t req, struct fbx_access *a, const char *path, __u32 right,
		   const struct fb_decision *d)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	bool audit = a->p->mode == FB_MODE_AUDIT;
	char why[FB_POLICY_PATH_MAX + 64];

	if (d->by == FB_BY_RULE || d->by == FB_BY_PIN)
		snprintf(why, sizeof(why), "rules[%d] \"%s\"%s", d->rule, a->p->rules[d->rule].path,
			 d->by == FB_BY_PIN ? " (pinned)" : "");
	else
		snprintf(why, sizeof(why), "%s",
			 d->by == FB_BY_DEFAULT ? "default" : "too deep to judge");
	fbx_log(FUSE_LOG_WARNING, "policy: %s %s %s by %s, pid %d", audit ? "would deny" : "deny",
		fb_right_name(right), path, why, (int)ctx->pid);
	syslog(LOG_AUTHPRIV | LOG_NOTICE, "policy: %s %s %s by %s, pid %d",
	       audit ? "would deny" : "deny", fb_right_name(right), path, why, (int)ctx->pid);
	if (a->log)
		log_event(a, ctx, path, right, d);
}

/*
 * Could the policy deny right anywhere, at any depth? When it cannot, no
 * access with that right needs judging (as fb_policy_cfg.may_deny in the
 * kernel programs): not even a path too deep to judge is denied.
 */
bool fbx_access_may_deny(const struct fbx_fs *fs, uint32_t right)
{
	return fs->access && (fs->access->may_deny & right);
}

/*
 * May the caller of req exercise rights on node n (name: an entry in
 * directory n, for the rights judged on the parent)? 0 or -EACCES.
 */
int fbx_check(fuse_req_t req, const struct fbx_node *n, const char *name, uint32_t rights)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	struct fbx_access *a = fs->access;
	char path[FB_POLICY_PATH_MAX];
	int denied = 0;

	if (!a || !n)
		return 0;
	/* Rights no rule denies are allowed without building the path. */
	rights &= a->may_deny;
	if (!rights)
		return 0;
	if (container_path(fs, n, name, path, sizeof(path)) < 0) {
		fbx_log(FUSE_LOG_WARNING, "policy: deny a path too long to judge, pid %d",
			(int)fuse_req_ctx(req)->pid);
		return -EACCES;
	}
	for (__u32 right = 1; right && right <= rights; right <<= 1) {
		struct fb_decision d;

		if (!(rights & right))
			continue;
		if (fb_policy_explain(a->p, path, right, &d) < 0)
			d = (struct fb_decision){.verdict = FB_DENY, .by = FB_BY_WALK_LIMIT};
		if (d.verdict != FB_DENY)
			continue;
		report(req, a, path, right, &d);
		denied = 1;
	}
	return denied && a->p->mode != FB_MODE_AUDIT ? -EACCES : 0;
}

/* The rights an open with these flags exercises. */
uint32_t fbx_open_rights(int flags)
{
	__u32 r = 0;

	if ((flags & O_ACCMODE) != O_WRONLY)
		r |= FB_RIGHT_READ;
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		r |= FB_RIGHT_WRITE;
	if (flags & __FMODE_EXEC)
		r |= FB_RIGHT_EXEC;
	return r;
}
