/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Small helpers shared by fusebox-hook, fuseboxctl and fuseboxd: cleanup
 * attributes, ownership moves, bounded reads. Library code returns negative
 * errno and does not log; entry points log once with context.
 */
#ifndef FUSEBOX_UTIL_H
#define FUSEBOX_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;

		close(*fd);
		errno = saved;
	}
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hand ownership out of a cleanup-managed variable. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _p = (p);                                                            \
		(p) = NULL;                                                                        \
		_p;                                                                                \
	})
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd = (fd);                                                                    \
		(fd) = -1;                                                                         \
		_fd;                                                                               \
	})

static inline bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static inline bool startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * Read all of fd into a NUL-terminated buffer of at most max bytes.
 * Returns the length, -EFBIG when the input is larger than max, or -errno.
 */
ssize_t read_full_fd(int fd, size_t max, char **out);
/* Same for a file, opened O_RDONLY|O_CLOEXEC|O_NOCTTY relative to dirfd. */
ssize_t read_full_file(int dirfd, const char *path, size_t max, char **out);
/* Write all of buf, retrying on EINTR and short writes. */
int write_full(int fd, const void *buf, size_t len);
/* Write a runtime file atomically (temp file + rename, no fsync) with the given mode. */
int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode);

/*
 * Format a one-line error message into err (may be NULL) and return r (a negative
 * errno), so that library code can write `return fb_errf(err, errlen, -EINVAL, ...)`.
 */
int fb_errf(char *err, size_t errlen, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Remove name (relative to dirfd) and everything beneath it, never following a
 * symlink and never leaving the file system it starts on. Missing is success.
 */
int rm_rf_at(int dirfd, const char *name);
/* The same for everything inside directory dirfd, which stays. */
int rm_rf_children_at(int dirfd);

/* Start time of a process (field 22 of /proc/PID/stat), to tell recycled pids apart. */
int proc_starttime(pid_t pid, unsigned long long *out);

struct open_how;
/* openat2(2); glibc has no wrapper. */
int fb_openat2(int dirfd, const char *path, const struct open_how *how);

/* Strings for messages: "abc" or "(null)". */
static inline const char *strna(const char *s)
{
	return s ? s : "(null)";
}

#endif
