// SPDX-License-Identifier: GPL-2.0-only
/* fusebox.io/mounts: parsing and checks. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "mounts.h"
#include "path.h"
#include "util.h"

#define A FB_ANNOT_MOUNTS

static int check_keys(json_t *obj, size_t idx, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		if (!streq(key, "target") && !streq(key, "lower") && !streq(key, "upper") &&
		    !streq(key, "data"))
			return fb_errf(err, errlen, -EINVAL,
				       A ": [%zu]: unknown key \"%.64s\" (expected target, lower, "
				       "upper, data)",
				       idx, key);
	}
	return 0;
}

static int get_path(json_t *v, const char *what, size_t idx, char **out, char *err,
		    size_t errlen)
{
	const char *why, *s;

	if (!json_is_string(v))
		return fb_errf(err, errlen, -EINVAL, A ": [%zu].%s: expected a string", idx, what);
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return fb_errf(err, errlen, -EINVAL, A ": [%zu].%s: contains a NUL byte", idx,
			       what);
	if (fb_path_check_abs(s, &why) < 0)
		return fb_errf(err, errlen, -EINVAL, A ": [%zu].%s: \"%.256s\" %s", idx, what, s,
			       why);
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

static int parse_one(json_t *obj, size_t idx, struct fb_mount_spec *m, char *err, size_t errlen)
{
	json_t *target, *lower, *upper, *data, *v;
	char what[32];
	size_t i;
	int r;

	if (!json_is_object(obj))
		return fb_errf(err, errlen, -EINVAL, A ": [%zu]: expected an object", idx);
	r = check_keys(obj, idx, err, errlen);
	if (r < 0)
		return r;

	target = json_object_get(obj, "target");
	if (!target)
		return fb_errf(err, errlen, -EINVAL, A ": [%zu]: missing \"target\"", idx);
	r = get_path(target, "target", idx, &m->target, err, errlen);
	if (r < 0)
		return r;
	if (streq(m->target, "/"))
		return fb_errf(err, errlen, -EINVAL,
			       A ": [%zu].target: \"/\" is the container root (expected a "
			       "directory below it)",
			       idx);

	lower = json_object_get(obj, "lower");
	if (!json_is_array(lower) || json_array_size(lower) == 0)
		return fb_errf(err, errlen, -EINVAL,
			       A ": [%zu].lower: expected a non-empty list of absolute host "
			       "directories",
			       idx);
	if (json_array_size(lower) > FB_LOWERS_MAX)
		return fb_errf(err, errlen, -E2BIG, A ": [%zu].lower: at most %d layers", idx,
			       FB_LOWERS_MAX);
	json_array_foreach(lower, i, v) {
		snprintf(what, sizeof(what), "lower[%zu]", i);
		r = get_path(v, what, idx, &m->lower[i], err, errlen);
		if (r < 0)
			return r;
		m->n_lower++;
	}

	upper = json_object_get(obj, "upper");
	if (!upper || (json_is_string(upper) && streq(json_string_value(upper), "none"))) {
		m->upper_kind = FB_UPPER_NONE;
	} else if (json_is_string(upper) && streq(json_string_value(upper), "ephemeral")) {
		m->upper_kind = FB_UPPER_EPHEMERAL;
	} else if (json_is_string(upper) && json_string_value(upper)[0] == '/') {
		m->upper_kind = FB_UPPER_PATH;
		r = get_path(upper, "upper", idx, &m->upper, err, errlen);
		if (r < 0)
			return r;
	} else {
		return fb_errf(err, errlen, -EINVAL,
			       A ": [%zu].upper: expected \"none\", \"ephemeral\" or an absolute "
			       "host path",
			       idx);
	}

	data = json_object_get(obj, "data");
	if (!data || (json_is_string(data) && streq(json_string_value(data), "passthrough")))
		m->data = FB_DATA_PASSTHROUGH;
	else if (json_is_string(data) && streq(json_string_value(data), "cached"))
		m->data = FB_DATA_CACHED;
	else
		return fb_errf(err, errlen, -EINVAL,
			       A ": [%zu].data: expected \"passthrough\" or \"cached\"", idx);
	return 0;
}

int fb_mounts_parse(const char *json, struct fb_mounts *out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root, *v;
	size_t i, j, len = strlen(json);
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (len > FB_ANNOT_MAX_SIZE)
		return fb_errf(err, errlen, -E2BIG, A ": larger than %d bytes", FB_ANNOT_MAX_SIZE);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fb_errf(err, errlen, -EINVAL, A ": invalid JSON at column %d: %s",
			       jerr.column, jerr.text);
	if (!json_is_array(root) || json_array_size(root) == 0) {
		r = fb_errf(err, errlen, -EINVAL,
			    A ": expected a non-empty JSON list of {\"target\", \"lower\", "
			      "\"upper\"} objects");
		goto out;
	}
	if (json_array_size(root) > FB_MOUNTS_MAX) {
		r = fb_errf(err, errlen, -E2BIG, A ": at most %d mounts", FB_MOUNTS_MAX);
		goto out;
	}
	json_array_foreach(root, i, v) {
		r = parse_one(v, i, &out->m[i], err, errlen);
		out->n = i + 1;
		if (r < 0)
			goto out;
	}
	/* Nested targets would mount inside another fusebox mount: refuse. */
	for (i = 0; i < out->n; i++)
		for (j = 0; j < out->n; j++)
			if (i != j && fb_path_is_within(out->m[j].target, out->m[i].target)) {
				r = fb_errf(err, errlen, -EINVAL,
					    A ": [%zu].target \"%s\" %s [%zu].target \"%s\" "
					      "(targets must be distinct and not nested)",
					    j, out->m[j].target,
					    streq(out->m[j].target, out->m[i].target) ? "repeats"
										      : "is inside",
					    i, out->m[i].target);
				goto out;
			}
out:
	json_decref(root);
	if (r < 0)
		fb_mounts_free(out);
	return r;
}

/* Resolve *path and require it to be a directory beneath one of roots. */
static int check_under_roots(char **path, char *const *roots, size_t n_roots, size_t idx,
			     const char *what, const char *rootkey, char *err, size_t errlen)
{
	char resolved[PATH_MAX];
	struct stat st;
	char *s;
	size_t k;

	if (!realpath(*path, resolved))
		return fb_errf(err, errlen, -errno, A ": [%zu].%s: \"%s\": %s", idx, what, *path,
			       strerror(errno));
	if (stat(resolved, &st) < 0)
		return fb_errf(err, errlen, -errno, A ": [%zu].%s: \"%s\": %s", idx, what, *path,
			       strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fb_errf(err, errlen, -ENOTDIR, A ": [%zu].%s: \"%s\" is not a directory",
			       idx, what, *path);
	for (k = 0; k < n_roots; k++)
		if (fb_path_is_beneath(resolved, roots[k]))
			break;
	if (k == n_roots) {
		char allowed[1024] = "";
		size_t off = 0;

		for (k = 0; k < n_roots && off < sizeof(allowed); k++)
			off += snprintf(allowed + off, sizeof(allowed) - off, "%s%s",
					k ? ", " : "", roots[k]);
		return fb_errf(err, errlen, -EPERM,
			       A ": [%zu].%s: \"%s\" is outside the allowed %ss (%s)", idx, what,
			       *path, rootkey, allowed);
	}
	s = strdup(resolved);
	if (!s)
		return -ENOMEM;
	free(*path);
	*path = s;
	return 0;
}

int fb_mounts_check(struct fb_mounts *mounts, const struct fb_conf *conf, char *err,
		    size_t errlen)
{
	char what[32];
	size_t i, j;
	int r;

	for (i = 0; i < mounts->n; i++) {
		struct fb_mount_spec *m = &mounts->m[i];

		for (j = 0; j < m->n_lower; j++) {
			snprintf(what, sizeof(what), "lower[%zu]", j);
			r = check_under_roots(&m->lower[j], conf->lower_roots,
					      conf->n_lower_roots, i, what, "lower_root", err,
					      errlen);
			if (r < 0)
				return r;
		}
		if (m->upper_kind == FB_UPPER_PATH) {
			r = check_under_roots(&m->upper, conf->upper_roots, conf->n_upper_roots, i,
					      "upper", "upper_root", err, errlen);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

void fb_mounts_free(struct fb_mounts *mounts)
{
	for (size_t i = 0; i < mounts->n; i++) {
		struct fb_mount_spec *m = &mounts->m[i];

		free(m->target);
		for (size_t j = 0; j < m->n_lower; j++)
			free(m->lower[j]);
		free(m->upper);
	}
	memset(mounts, 0, sizeof(*mounts));
}
