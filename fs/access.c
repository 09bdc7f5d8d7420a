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
#include <syslog.h>

#include "path.h"
#include "policy.h"

#ifndef __FMODE_EXEC
#define __FMODE_EXEC 0x20 /* in the open flags of an execve() */
#endif

struct fbx_access {
	struct fb_policy *p;
	char *root; /* container path of the mount's root, no trailing '/' ("" for /) */
};

int fbx_access_load(struct fbx_fs *fs, const char *file, const char *root)
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
	a->root = strdup(streq(root, "/") ? "" : root);
	if (!a->root) {
		fbx_access_free(a);
		return -ENOMEM;
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

static void report(fuse_req_t req, const struct fbx_access *a, const char *path, __u32 right,
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
}

/*
 * May the caller of req exercise rights on node n (name: an entry in
 * directory n, for the rights judged on the parent)? 0 or -EACCES.
 */
int fbx_check(fuse_req_t req, const struct fbx_node *n, const char *name, uint32_t rights)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	const struct fbx_access *a = fs->access;
	char path[FB_POLICY_PATH_MAX];
	int denied = 0;

	if (!a || !n)
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
