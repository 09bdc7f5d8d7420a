// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuseboxctl audit [--config FILE] [--follow] [ID]
 * Prints the policy's audit events (denials, and would-be denials in audit
 * mode) from the per-container logs in log_dir (hook/lib/auditlog.h), one
 * line each:
 *   <time> <container> pid=N uid=N comm=C op=OP rights=R path=P verdict=deny|audit by=WHY
 * written by the node's audit logger (BPF LSM) and by fuseboxd (where it
 * enforces a policy itself, op=fuse). The logs outlive their containers.
 * With ID, that container's log (its rotated part first); without, every
 * container's. --follow then keeps printing what is appended, across
 * rotations and (without ID) for containers that start later, until
 * interrupted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auditlog.h"
#include "conf.h"
#include "ctl.h"
#include "oci.h"
#include "util.h"

#define FOLLOW_MAX 4096	    /* logs followed at once */
#define FOLLOW_TICK_MS 250

struct followed {
	char *path;
	int fd; /* at the end of what was printed, -1 while the file is missing */
	dev_t dev;
	ino_t ino;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

/* Print what fd has from its position on. */
static void copy_out(int fd)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	fflush(stdout);
}

/* Print path (if it exists) and, when f is given, keep it open at its end. */
static void print_file(const char *path, struct followed *f)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return;
	copy_out(fd);
	if (!f || fstat(fd, &st) < 0) {
		close(fd);
		return;
	}
	f->fd = fd;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
}

/* Start on a log: its rotated part, then itself. */
static int add_log(struct followed *fl, size_t *n, const char *path, bool follow)
{
	char rotated[PATH_MAX];

	if (*n >= FOLLOW_MAX)
		return -ENOSPC;
	if ((size_t)snprintf(rotated, sizeof(rotated), "%s.1", path) >= sizeof(rotated))
		return -ENAMETOOLONG;
	fl[*n] = (struct followed){ .path = strdup(path), .fd = -1 };
	if (!fl[*n].path)
		return -ENOMEM;
	print_file(rotated, NULL);
	print_file(path, follow ? &fl[*n] : NULL);
	(*n)++;
	return 0;
}

static bool is_log_name(const char *name)
{
	size_t len = strlen(name);

	return len > 4 && streq(name + len - 4, ".log") && name[0] != '.';
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Logs in log_dir not followed yet, in name order. */
static void add_new_logs(const char *log_dir, struct followed *fl, size_t *n, bool follow)
{
	char **names = NULL, path[PATH_MAX];
	size_t k = 0, cap = 0;
	struct dirent *de;
	DIR *d = opendir(log_dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		bool known = false;

		if (!is_log_name(de->d_name) ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", log_dir, de->d_name) >= sizeof(path))
			continue;
		for (size_t i = 0; i < *n && !known; i++)
			known = streq(fl[i].path, path);
		if (known)
			continue;
		if (k == cap) {
			char **nn = realloc(names, sizeof(*names) * (cap = cap ? 2 * cap : 16));

			if (!nn)
				break;
			names = nn;
		}
		names[k] = strdup(path);
		if (names[k])
			k++;
	}
	closedir(d);
	if (k)
		qsort(names, k, sizeof(*names), cmp_str);
	for (size_t i = 0; i < k; i++) {
		add_log(fl, n, names[i], follow);
		free(names[i]);
	}
	free(names);
}

/* New lines of one log; a rotated log is finished, then its successor printed. */
static void follow_one(struct followed *f)
{
	struct stat st;

	if (f->fd >= 0)
		copy_out(f->fd);
	if (stat(f->path, &st) < 0 || (f->fd >= 0 && (st.st_dev != f->dev || st.st_ino != f->ino))) {
		if (f->fd >= 0) {
			copy_out(f->fd); /* written just before the rotation */
			close(f->fd);
			f->fd = -1;
		}
	}
	if (f->fd < 0)
		print_file(f->path, f);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fuseboxctl audit [--config FILE] [--follow] [ID]\n");
}

int ctl_audit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "follow", no_argument, NULL, 'f' },
		{},
	};
	const struct timespec tick = { 0, FOLLOW_TICK_MS * 1000000L };
	struct followed *fl = NULL;
	const char *config = NULL, *id;
	char err[512], path[PATH_MAX];
	bool follow = false;
	struct fb_conf conf;
	size_t n = 0;
	int c, r, ret = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:f", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'f':
			follow = true;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind > 1) {
		usage(stderr);
		return 2;
	}
	id = argc - optind == 1 ? argv[optind] : NULL;
	if (id && fb_oci_check_id(id) < 0) {
		fprintf(stderr, "fuseboxctl: \"%s\" is not a container id\n", id);
		return 2;
	}
	if (fb_conf_load(config, &conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuseboxctl: %s\n", err);
		return 1;
	}
	fl = calloc(FOLLOW_MAX, sizeof(*fl));
	if (!fl)
		goto out;
	if (id) {
		r = fb_audit_log_path(conf.log_dir, id, path, sizeof(path));
		if (r == 0)
			r = add_log(fl, &n, path, follow);
		if (r < 0) {
			fprintf(stderr, "fuseboxctl: %s: %s\n", id, strerror(-r));
			goto out;
		}
		if (!follow && access(path, F_OK) < 0)
			fprintf(stderr, "fuseboxctl: no audit events of %s (%s)\n", id, path);
	} else {
		add_new_logs(conf.log_dir, fl, &n, follow);
	}
	if (follow) {
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		signal(SIGPIPE, SIG_DFL);
	}
	while (follow && !stop) {
		nanosleep(&tick, NULL);
		if (!id)
			add_new_logs(conf.log_dir, fl, &n, true);
		for (size_t i = 0; i < n; i++)
			follow_one(&fl[i]);
	}
	ret = 0;
out:
	for (size_t i = 0; fl && i < n; i++) {
		if (fl[i].fd >= 0)
			close(fl[i].fd);
		free(fl[i].path);
	}
	free(fl);
	fb_conf_free(&conf);
	return ret;
}
