// SPDX-License-Identifier: GPL-2.0-only
/* fusebox.conf parser: the only place that reads the operator's settings. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "conf.h"
#include "path.h"
#include "util.h"

static int set_str(char **slot, const char *value)
{
	char *s = strdup(value);

	if (!s)
		return -ENOMEM;
	free(*slot);
	*slot = s;
	return 0;
}

int fb_conf_defaults(struct fb_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->ready_timeout_ms = 5000;
	conf->fuseboxd_spin_us = -1;
	conf->fuseboxd_prefetch = -1;
	conf->log_keep = 1000;
	if (set_str(&conf->state_dir, "/run/fusebox") < 0 ||
	    set_str(&conf->fuseboxd, FUSEBOX_BINDIR "/fuseboxd") < 0 ||
	    set_str(&conf->policy_dir, FUSEBOX_SYSCONFDIR "/fusebox/policies") < 0 ||
	    set_str(&conf->program_dir, FUSEBOX_SYSCONFDIR "/fusebox/programs") < 0 ||
	    set_str(&conf->log_dir, "/var/log/fusebox") < 0)
		return -ENOMEM;
	return 0;
}

static int add_root(char **roots, size_t *n, const char *value, const char *key,
		    const char *where, char *err, size_t errlen)
{
	char resolved[PATH_MAX];
	const char *use = value;

	if (*n >= FB_CONF_MAX_ROOTS)
		return fb_errf(err, errlen, -E2BIG, "%s: %s: at most %d entries", where, key,
			       FB_CONF_MAX_ROOTS);
	/* Compare against the real location: layer paths are realpath'd too. */
	if (realpath(value, resolved))
		use = resolved;
	roots[*n] = strdup(use);
	if (!roots[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* A decimal integer in [min, max] for key, or a one-line error naming it. */
static int parse_int(const char *value, long min, long max, int *out, const char *key,
		     const char *where, char *err, size_t errlen)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno || end == value || *end || v < min || v > max)
		return fb_errf(err, errlen, -EINVAL, "%s: %s: \"%s\" (expected %ld..%ld)", where,
			       key, value, min, max);
	*out = (int)v;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (streq(v, "yes") || streq(v, "true") || streq(v, "1"))
		*out = true;
	else if (streq(v, "no") || streq(v, "false") || streq(v, "0"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

int fb_conf_parse(const char *text, const char *source, struct fb_conf *conf, char *err,
		  size_t errlen)
{
	_cleanup_free_ char *copy = strdup(text);
	char *line, *save = NULL;
	int lineno = 0;

	if (!copy)
		return -ENOMEM;
	/* strtok_r skips empty lines, so count them by hand. */
	for (line = copy; line; line = save) {
		char where[PATH_MAX + 32], *eq, *key, *value, *hash;
		const char *why;
		int r = 0;

		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		lineno++;
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		line = trim(line);
		if (!*line)
			continue;
		snprintf(where, sizeof(where), "%s:%d", source, lineno);
		eq = strchr(line, '=');
		if (!eq)
			return fb_errf(err, errlen, -EINVAL, "%s: expected \"key = value\"", where);
		*eq = '\0';
		key = trim(line);
		value = trim(eq + 1);
		if (!*value)
			return fb_errf(err, errlen, -EINVAL, "%s: %s: empty value", where, key);

		if (streq(key, "lower_root") || streq(key, "upper_root") ||
		    streq(key, "state_dir") || streq(key, "fuseboxd") ||
		    streq(key, "policy_dir") || streq(key, "program_dir") ||
		    streq(key, "log_dir")) {
			if (fb_path_check_abs(value, &why) < 0)
				return fb_errf(err, errlen, -EINVAL, "%s: %s: \"%s\" %s", where,
					       key, value, why);
		}
		if (streq(key, "lower_root"))
			r = add_root(conf->lower_roots, &conf->n_lower_roots, value, key, where,
				     err, errlen);
		else if (streq(key, "upper_root"))
			r = add_root(conf->upper_roots, &conf->n_upper_roots, value, key, where,
				     err, errlen);
		else if (streq(key, "state_dir"))
			r = set_str(&conf->state_dir, value);
		else if (streq(key, "fuseboxd"))
			r = set_str(&conf->fuseboxd, value);
		else if (streq(key, "policy_dir"))
			r = set_str(&conf->policy_dir, value);
		else if (streq(key, "program_dir"))
			r = set_str(&conf->program_dir, value);
		else if (streq(key, "log_dir"))
			r = set_str(&conf->log_dir, value);
		else if (streq(key, "degraded_enforcement")) {
			if (parse_bool(value, &conf->degraded_enforcement) < 0)
				return fb_errf(err, errlen, -EINVAL,
					       "%s: degraded_enforcement: \"%s\" (expected yes or no)",
					       where, value);
		} else if (streq(key, "ready_timeout_ms")) {
			r = parse_int(value, 100, 60000, &conf->ready_timeout_ms, key, where, err,
				      errlen);
		} else if (streq(key, "fuseboxd_spin_us")) {
			/* fuseboxd's own limits (fs/fuseboxd.h), so that a bad
			 * value is refused here rather than by every daemon. */
			r = parse_int(value, 0, 1000, &conf->fuseboxd_spin_us, key, where, err,
				      errlen);
		} else if (streq(key, "fuseboxd_prefetch")) {
			r = parse_int(value, 0, 4096, &conf->fuseboxd_prefetch, key, where, err,
				      errlen);
		} else if (streq(key, "log_keep")) {
			r = parse_int(value, 1, 1000000, &conf->log_keep, key, where, err, errlen);
		} else
			return fb_errf(err, errlen, -EINVAL,
				       "%s: unknown key \"%s\" (expected lower_root, upper_root, "
				       "state_dir, fuseboxd, policy_dir, program_dir, "
				       "log_dir, log_keep, degraded_enforcement, ready_timeout_ms, "
				       "fuseboxd_spin_us, fuseboxd_prefetch)",
				       where, key);
		if (r < 0)
			return r;
	}
	return 0;
}

int fb_conf_load(const char *path, struct fb_conf *conf, char *err, size_t errlen)
{
	_cleanup_free_ char *text = NULL;
	const char *file = path ? path : FB_CONF_DEFAULT_PATH;
	ssize_t n;
	int r;

	r = fb_conf_defaults(conf);
	if (r < 0)
		return r;
	n = read_full_file(AT_FDCWD, file, FB_CONF_MAX_SIZE, &text);
	if (n == -ENOENT && !path)
		goto defaults;
	if (n == -EFBIG)
		return fb_errf(err, errlen, -EFBIG, "%s: larger than %d bytes", file,
			       FB_CONF_MAX_SIZE);
	if (n < 0)
		return fb_errf(err, errlen, n, "%s: %s", file, strerror(-n));
	if (memchr(text, '\0', n))
		return fb_errf(err, errlen, -EINVAL, "%s: contains a NUL byte", file);
	r = fb_conf_parse(text, file, conf, err, errlen);
	if (r < 0)
		return r;
	r = set_str(&conf->path, file);
	if (r < 0)
		return r;
defaults:
	if (conf->n_lower_roots == 0) {
		r = add_root(conf->lower_roots, &conf->n_lower_roots, "/var/lib/fusebox/layers",
			     "lower_root", file, err, errlen);
		if (r < 0)
			return r;
	}
	if (conf->n_upper_roots == 0)
		return add_root(conf->upper_roots, &conf->n_upper_roots,
				"/var/lib/fusebox/uppers", "upper_root", file, err, errlen);
	return 0;
}

void fb_conf_free(struct fb_conf *conf)
{
	size_t i;

	for (i = 0; i < conf->n_lower_roots; i++)
		free(conf->lower_roots[i]);
	for (i = 0; i < conf->n_upper_roots; i++)
		free(conf->upper_roots[i]);
	free(conf->path);
	free(conf->state_dir);
	free(conf->log_dir);
	free(conf->fuseboxd);
	free(conf->policy_dir);
	free(conf->program_dir);
	memset(conf, 0, sizeof(*conf));
}
