// SPDX-License-Identifier: GPL-2.0-only
/* Finding a container's cgroup2 directory. See cgroup.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cgroup.h"
#include "util.h"

int fb_cgroup_parse_proc(const char *text, char **path)
{
	const char *line = text;

	while (line && *line) {
		const char *end = strchrnul(line, '\n');

		if (startswith(line, "0::")) {
			const char *p = line + 3;
			size_t len = end - p;
			char *s;

			if (len == 0 || p[0] != '/')
				return -EINVAL;
			s = strndup(p, len);
			if (!s)
				return -ENOMEM;
			/* The kernel never writes these; anything else would be a forgery. */
			if (strstr(s, "/../") || strstr(s, "/./") || strstr(s, "//") ||
			    (len >= 3 && streq(s + len - 3, "/..")) ||
			    (len >= 2 && streq(s + len - 2, "/."))) {
				free(s);
				return -EINVAL;
			}
			*path = s;
			return 0;
		}
		line = *end ? end + 1 : NULL;
	}
	return -ENOENT;
}

/* Decode mountinfo's octal escapes in place. */
static void unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') << 6 | (r[2] - '0') << 3 | (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

int fb_cgroup_parse_mountinfo(const char *text, char **mnt)
{
	const char *line = text;

	/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE SOURCE SUPEROPTS" */
	while (line && *line) {
		const char *end = strchrnul(line, '\n');
		_cleanup_free_ char *l = strndup(line, end - line);
		char *save = NULL, *tok, *mp = NULL;
		int field = 0;
		bool dash = false;

		if (!l)
			return -ENOMEM;
		for (tok = strtok_r(l, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			field++;
			if (field == 5)
				mp = tok;
			else if (field > 6 && !dash && streq(tok, "-"))
				dash = true;
			else if (dash) {
				if (streq(tok, "cgroup2") && mp) {
					unescape(mp);
					*mnt = strdup(mp);
					return *mnt ? 0 : -ENOMEM;
				}
				break;
			}
		}
		line = *end ? end + 1 : NULL;
	}
	return -ENOENT;
}

unsigned fb_cgroup_level(const char *path)
{
	unsigned n = 0;

	for (const char *p = path; *p; p++)
		if (*p == '/' && p[1] && p[1] != '/')
			n++;
	return n;
}

/* The cgroup id of an open cgroup2 directory: its kernfs file handle. */
static int cgroup_id(int dirfd, __u64 *id)
{
	struct {
		struct file_handle fh;
		__u64 id;
	} h = { .fh.handle_bytes = sizeof(__u64) };
	int mount_id;

	if (name_to_handle_at(dirfd, "", &h.fh, &mount_id, AT_EMPTY_PATH) < 0)
		return -errno;
	if (h.fh.handle_bytes != sizeof(__u64))
		return -EINVAL;
	memcpy(id, h.fh.f_handle, sizeof(*id));
	return 0;
}

int fb_cgroup_of_pid(pid_t pid, struct fb_cgroup *out, int *dirfd, char *err, size_t errlen)
{
	_cleanup_free_ char *text = NULL, *mnt = NULL, *rel = NULL, *dir = NULL;
	_cleanup_close_ int fd = -1;
	char file[64];
	struct fb_cgroup cg = { 0 };
	ssize_t n;
	int r;

	n = read_full_file(AT_FDCWD, "/proc/self/mountinfo", 4 << 20, &text);
	if (n < 0)
		return fb_errf(err, errlen, n, "/proc/self/mountinfo: %s", strerror(-n));
	r = fb_cgroup_parse_mountinfo(text, &mnt);
	if (r < 0)
		return fb_errf(err, errlen, r, "%s",
			       r == -ENOENT ? "no cgroup2 hierarchy is mounted on this host "
					      "(expected /sys/fs/cgroup or /sys/fs/cgroup/unified)"
					    : strerror(-r));
	free(TAKE_PTR(text));
	snprintf(file, sizeof(file), "/proc/%d/cgroup", (int)pid);
	n = read_full_file(AT_FDCWD, file, FB_CGROUP_FILE_MAX, &text);
	if (n < 0)
		return fb_errf(err, errlen, n, "%s: %s", file, strerror(-n));
	r = fb_cgroup_parse_proc(text, &rel);
	if (r < 0)
		return fb_errf(err, errlen, r, "%s: %s", file,
			       r == -ENOENT ? "no \"0::\" line: the container is in no cgroup2 "
					      "directory (expected a runtime that uses cgroup2)"
					    : "invalid \"0::\" path");
	if (streq(rel, "/"))
		return fb_errf(err, errlen, -EINVAL,
			       "the container runs in the root cgroup2 directory (expected a "
			       "cgroup of its own, as runc and crun make)");
	if (asprintf(&dir, "%s%s", mnt, rel) < 0)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fb_errf(err, errlen, -errno, "cgroup %s: %s", dir, strerror(errno));
	r = cgroup_id(fd, &cg.id);
	if (r < 0)
		return fb_errf(err, errlen, r, "cgroup %s: reading its id: %s", dir, strerror(-r));
	cg.level = fb_cgroup_level(rel);
	cg.dir = TAKE_PTR(dir);
	*out = cg;
	*dirfd = TAKE_FD(fd);
	return 0;
}

void fb_cgroup_free(struct fb_cgroup *cg)
{
	free(cg->dir);
	cg->dir = NULL;
}
