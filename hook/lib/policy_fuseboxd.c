// SPDX-License-Identifier: GPL-2.0-only
/* What fuseboxd can enforce of a policy on its own. See policy_fuseboxd.h. */
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "path.h"
#include "policy_fuseboxd.h"
#include "util.h"

/* Append to buf (a string), "..." when it no longer fits. */
static void __attribute__((format(printf, 3, 4)))
append(char *buf, size_t len, const char *fmt, ...)
{
	size_t o = strlen(buf);
	va_list ap;
	int n;

	if (o + 1 >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + o, len - o, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n >= len - o && len >= 4)
		strcpy(buf + len - 4, "...");
}

static void gap(struct fb_policy_gaps *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void gap(struct fb_policy_gaps *g, const char *fmt, ...)
{
	char line[sizeof(g->first)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (g->n == 0)
		snprintf(g->first, sizeof(g->first), "%s", line);
	append(g->all, sizeof(g->all), "%s%s", g->n ? "; " : "", line);
	g->n++;
}

/* "/app, /data" or "there are none". */
static void targets(const struct fb_mounts *mounts, char *buf, size_t len)
{
	buf[0] = '\0';
	if (!mounts || mounts->n == 0) {
		snprintf(buf, len, "there are none");
		return;
	}
	for (size_t i = 0; i < mounts->n; i++)
		append(buf, len, "%s%s", i ? ", " : "", mounts->m[i].target);
}

/*
 * The first prefix of rel (a relative path inside a mount, "" for its root) that is a
 * symlink in the layer dir, into link; 0 when there is none (or the layer lacks it).
 * Each prefix is looked at only once its parents were seen not to be symlinks.
 */
static int symlink_in_layer(const char *dir, const char *rel, char *link, size_t len)
{
	char prefix[PATH_MAX];
	struct stat st;
	int dfd, found = 0;

	if (!*rel || (size_t)snprintf(prefix, sizeof(prefix), "%s", rel) >= sizeof(prefix))
		return 0;
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	for (char *slash = prefix;; slash++) {
		slash = strchr(slash, '/');
		if (slash)
			*slash = '\0';
		if (fstatat(dfd, prefix, &st, AT_SYMLINK_NOFOLLOW) < 0)
			break;
		if (S_ISLNK(st.st_mode)) {
			snprintf(link, len, "%s", prefix);
			found = 1;
			break;
		}
		if (!slash)
			break;
		*slash = '/';
	}
	close(dfd);
	return found;
}

/* path (within target) relative to target: "" for target itself. */
static const char *in_mount(const char *path, const char *target)
{
	path += strlen(target);
	return *path == '/' ? path + 1 : path;
}

/* The same over every layer of m that exists before the container starts. */
static int symlink_in_mount(const struct fb_mount_spec *m, const char *rel, char *link, size_t len)
{
	char upper[PATH_MAX];

	if (m->upper_kind == FB_UPPER_PATH &&
	    (size_t)snprintf(upper, sizeof(upper), "%s/data", m->upper) < sizeof(upper) &&
	    symlink_in_layer(upper, rel, link, len))
		return 1;
	for (size_t i = 0; i < m->n_lower; i++)
		if (symlink_in_layer(m->lower[i], rel, link, len))
			return 1;
	return 0;
}

void fb_policy_fuseboxd_gaps(const struct fb_policy *p, const struct fb_mounts *mounts,
			     struct fb_policy_gaps *out)
{
	const char *verb = p->mode == FB_MODE_AUDIT ? "audits" : "denies";
	char where[256], link[PATH_MAX];

	memset(out, 0, sizeof(*out));
	targets(mounts, where, sizeof(where));
	if (p->dflt == FB_DENY)
		gap(out, "default \"deny\" also covers what is outside the fusebox mounts (%s)",
		    where);
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct fb_rule *r = &p->rules[i];
		const struct fb_mount_spec *m = NULL;

		/* Allowing what is allowed anyway takes nothing away. */
		if (!fb_rule_denies(r))
			continue;
		for (size_t j = 0; mounts && j < mounts->n && !m; j++)
			if (fb_path_is_within(r->path, mounts->m[j].target))
				m = &mounts->m[j];
		if (!m)
			gap(out, "rules[%zu] \"%s\" is outside the fusebox mounts (%s)", i, r->path,
			    where);
		else if (m->data == FB_DATA_CACHED)
			gap(out,
			    "rules[%zu] \"%s\" is inside %s, a \"data\": \"cached\" mount (its "
			    "opens "
			    "never reach fuseboxd)",
			    i, r->path, m->target);
		else if (symlink_in_mount(m, in_mount(r->path, m->target), link, sizeof(link)))
			gap(out,
			    "rules[%zu] \"%s\" goes through a symlink, %s/%s (fuseboxd judges "
			    "the path an access resolves to, not the link's)",
			    i, r->path, m->target[1] ? m->target : "", link);
		else if (fb_rule_denies(r) & FB_RIGHT_EXEC)
			gap(out,
			    "rules[%zu] \"%s\" %s exec (mmap with PROT_EXEC and memfd never reach "
			    "a "
			    "FUSE daemon)",
			    i, r->path, verb);
	}
}
