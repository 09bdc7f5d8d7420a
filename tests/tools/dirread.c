// SPDX-License-Identifier: GPL-2.0-only
/*
 * dirread: read a directory the ways the tests need, printing the names seen
 * (one a line, without . and ..).
 *
 *   dirread chunks DIR BYTES [LIST N]
 *       getdents64 with a BYTES buffer; with LIST, after each call unlink the
 *       next N names of LIST (one a line, relative to DIR) before reading on,
 *       and at the end the names of LIST still left.
 *   dirread seek DIR
 *       readdir to the end noting telldir() before each entry, then seekdir()
 *       back to every 7th position: the entry there must be the one read there
 *       first. Prints the names of the first pass; exit 1 on a mismatch.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static int usage(void)
{
	fprintf(stderr, "usage: dirread chunks DIR BYTES [LIST N] | dirread seek DIR\n");
	return 2;
}

static bool is_dot(const char *name)
{
	return streq(name, ".") || streq(name, "..");
}

/* Unlink the next n names of list (NULL: none) in dirfd. */
static int unlink_next(int dirfd, FILE *list, long n)
{
	char name[4096];

	while (list && n-- > 0 && fgets(name, sizeof(name), list)) {
		name[strcspn(name, "\n")] = '\0';
		if (unlinkat(dirfd, name, 0) < 0) {
			fprintf(stderr, "dirread: unlink %s: %s\n", name, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int chunks(const char *dir, size_t bytes, const char *listfile, long per_call)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_fclose_ FILE *list = listfile ? fopen(listfile, "re") : NULL;
	_cleanup_free_ char *buf = malloc(bytes);
	ssize_t n;

	if (fd < 0 || !buf || (listfile && !list)) {
		fprintf(stderr, "dirread: %s: %s\n", fd < 0 ? dir : listfile, strerror(errno));
		return 1;
	}
	while ((n = getdents64(fd, buf, bytes)) > 0) {
		for (ssize_t pos = 0; pos < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + pos);

			pos += d->d_reclen;
			if (!is_dot(d->d_name))
				printf("%s\n", d->d_name);
		}
		if (unlink_next(fd, list, per_call) < 0)
			return 1;
	}
	if (n < 0) {
		fprintf(stderr, "dirread: getdents64 %s: %s\n", dir, strerror(errno));
		return 1;
	}
	return unlink_next(fd, list, LONG_MAX) < 0 ? 1 : 0;
}

struct seen {
	long pos;
	char *name;
};

static int seek(const char *dir)
{
	DIR *d = opendir(dir);
	struct seen *v = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *e;
	int ret = 0;

	if (!d) {
		fprintf(stderr, "dirread: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	for (;;) {
		long pos = telldir(d);

		errno = 0;
		e = readdir(d);
		if (!e)
			break;
		if (is_dot(e->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				abort();
		}
		v[n].pos = pos;
		v[n].name = strdup(e->d_name);
		if (!v[n].name)
			abort();
		printf("%s\n", v[n++].name);
	}
	if (errno) {
		fprintf(stderr, "dirread: readdir %s: %s\n", dir, strerror(errno));
		ret = 1;
	}
	for (i = 0; i < n && !ret; i += 7) {
		seekdir(d, v[i].pos);
		e = readdir(d);
		if (!e || !streq(e->d_name, v[i].name)) {
			fprintf(stderr, "dirread: seekdir to %ld (entry %zu): got %s, read %s there first\n",
				v[i].pos, i, e ? e->d_name : "the end", v[i].name);
			ret = 1;
		}
	}
	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	closedir(d);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc == 3 && streq(argv[1], "seek"))
		return seek(argv[2]);
	if (argc == 4 && streq(argv[1], "chunks"))
		return chunks(argv[2], strtoul(argv[3], NULL, 10), NULL, 0);
	if (argc == 6 && streq(argv[1], "chunks"))
		return chunks(argv[2], strtoul(argv[3], NULL, 10), argv[4], strtol(argv[5], NULL, 10));
	return usage();
}
