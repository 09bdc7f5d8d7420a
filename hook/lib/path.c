// SPDX-License-Identifier: GPL-2.0-only
/* Canonical path checks for untrusted input. */
#include <errno.h>
#include <string.h>

#include "path.h"
#include "util.h"

int fb_path_check_abs(const char *path, const char **why)
{
	const char *p, *comp;
	size_t len;
	int depth = 0;

	if (!path || path[0] != '/') {
		*why = "must be an absolute path";
		return -EINVAL;
	}
	len = strlen(path);
	if (len >= FB_PATH_MAX) {
		*why = "is too long";
		return -EINVAL;
	}
	for (p = path; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*why = "contains a control character";
			return -EINVAL;
		}
	}
	if (streq(path, "/"))
		return 0;
	if (path[len - 1] == '/') {
		*why = "must not end with '/'";
		return -EINVAL;
	}
	for (comp = path + 1;; comp = p + 1) {
		size_t n;

		p = strchrnul(comp, '/');
		n = p - comp;
		if (n == 0) {
			*why = "must not contain '//'";
			return -EINVAL;
		}
		if ((n == 1 && comp[0] == '.') || (n == 2 && comp[0] == '.' && comp[1] == '.')) {
			*why = "must not contain '.' or '..' components";
			return -EINVAL;
		}
		if (n > 255) {
			*why = "has a component longer than 255 bytes";
			return -EINVAL;
		}
		if (++depth > FB_PATH_MAX_DEPTH) {
			*why = "is too deep";
			return -EINVAL;
		}
		if (!*p)
			break;
	}
	return 0;
}

bool fb_path_is_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (streq(dir, "/"))
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

bool fb_path_is_beneath(const char *path, const char *dir)
{
	return fb_path_is_within(path, dir) && !streq(path, dir);
}

int fb_path_depth(const char *path)
{
	int depth = 0;

	if (streq(path, "/"))
		return 0;
	for (; *path; path++)
		if (*path == '/')
			depth++;
	return depth;
}
