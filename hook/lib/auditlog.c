// SPDX-License-Identifier: GPL-2.0-only
/* The per-container audit log. See auditlog.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auditlog.h"
#include "conf.h"
#include "oci.h"
#include "state.h"
#include "util.h"

int fb_audit_log_path(const char *log_dir, const char *id, char *buf, size_t len)
{
	if (fb_oci_check_id(id) < 0)
		return -EINVAL;
	if ((size_t)snprintf(buf, len, "%s/%s.log", log_dir, id) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int fb_audit_log_dir(const char *log_dir)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s", log_dir) >= sizeof(path))
		return -ENAMETOOLONG;
	for (char *p = path + 1;; p++) {
		bool last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		/* Parents as usual; the logs themselves for root (and adm) only. */
		if (mkdir(path, last ? 0750 : 0755) < 0 && errno != EEXIST)
			return -errno;
		if (last)
			return 0;
		*p = '/';
	}
}

void fb_audit_time(const struct timespec *t, char *buf, size_t len)
{
	struct tm tm;
	char s[32];

	gmtime_r(&t->tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", s, t->tv_nsec / 1000000);
}

/* Open path for appending, locked, and still the file at path (not rotated away). */
static int open_locked(const char *path)
{
	for (int tries = 0; tries < 8; tries++) {
		struct stat a, b;
		int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);

		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX) < 0 || fstat(fd, &a) < 0) {
			int r = -errno;

			close(fd);
			return r;
		}
		if (stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return fd;
		close(fd); /* another writer rotated it while we waited */
	}
	return -EAGAIN;
}

int fb_audit_log_append(const char *path, const char *line)
{
	char rotated[PATH_MAX], buf[FB_AUDIT_LINE_MAX + 1];
	size_t n = strnlen(line, FB_AUDIT_LINE_MAX);
	struct stat st;
	int fd, r;

	if ((size_t)snprintf(rotated, sizeof(rotated), "%s.1", path) >= sizeof(rotated))
		return -ENAMETOOLONG;
	memcpy(buf, line, n);
	buf[n++] = '\n';
	fd = open_locked(path);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) == 0 && st.st_size > 0 && (size_t)st.st_size + n > FB_AUDIT_LOG_MAX) {
		/* Under the lock of the full file: its other writers reopen (open_locked). */
		if (rename(path, rotated) < 0) {
			r = -errno;
			close(fd);
			return r;
		}
		close(fd);
		fd = open_locked(path);
		if (fd < 0)
			return fd;
	}
	r = write_full(fd, buf, n);
	close(fd);
	return r;
}

struct log_age {
	struct timespec mtime;
	char id[NAME_MAX + 1];
};

static int oldest_first(const void *a, const void *b)
{
	const struct timespec *x = &((const struct log_age *)a)->mtime;
	const struct timespec *y = &((const struct log_age *)b)->mtime;

	if (x->tv_sec != y->tv_sec)
		return x->tv_sec < y->tv_sec ? -1 : 1;
	return x->tv_nsec < y->tv_nsec ? -1 : x->tv_nsec > y->tv_nsec;
}

int fb_audit_log_prune(const struct fb_conf *conf)
{
	_cleanup_free_ struct log_age *logs = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int removed = 0;
	DIR *d = opendir(conf->log_dir);

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		struct stat st;

		if (len <= 4 || strcmp(de->d_name + len - 4, ".log") ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			struct log_age *more = reallocarray(logs, cap ? 2 * cap : 64, sizeof(*logs));

			if (!more) {
				closedir(d);
				return -ENOMEM;
			}
			logs = more;
			cap = cap ? 2 * cap : 64;
		}
		logs[n].mtime = st.st_mtim;
		snprintf(logs[n].id, sizeof(logs[n].id), "%.*s", (int)(len - 4), de->d_name);
		if (fb_oci_check_id(logs[n].id) == 0)
			n++;
	}
	if (n > (size_t)conf->log_keep) {
		qsort(logs, n, sizeof(*logs), oldest_first);
		for (size_t i = 0; i < n - (size_t)conf->log_keep; i++) {
			char state[PATH_MAX], name[NAME_MAX + 8];

			if (fb_state_path(conf, logs[i].id, state, sizeof(state)) < 0 ||
			    access(state, F_OK) == 0)
				continue; /* a running container's log stays */
			snprintf(name, sizeof(name), "%s.log.1", logs[i].id);
			unlinkat(dirfd(d), name, 0);
			snprintf(name, sizeof(name), "%s.log", logs[i].id);
			if (unlinkat(dirfd(d), name, 0) == 0)
				removed++;
		}
	}
	closedir(d);
	return removed;
}
