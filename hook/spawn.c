// SPDX-License-Identifier: GPL-2.0-only
/*
 * Starting fuseboxd for a mount. The runtime waits until the hook's stdout and
 * stderr close, so the daemon must not inherit them: it runs in its own session,
 * double-forked (reparented away from the hook), stdio on /dev/null and a log file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "hook.h"
#include "util.h"

#define DAEMON_READY_FD 3
#define DAEMON_FUSE_FD 4

/* value appended at buf + *off, ',' and backslash escaped by a backslash (fuseboxd -o). */
static void append_escaped(char *buf, size_t len, size_t *off, const char *value)
{
	for (const char *c = value; *c; c++) {
		if ((*c == ',' || *c == '\\') && *off < len)
			buf[(*off)++] = '\\';
		if (*off < len)
			buf[(*off)++] = *c;
	}
	if (*off < len)
		buf[*off] = '\0';
}

static int build_lowerdir_opt(const struct fb_mount_spec *m, const char *upper,
			      const char *policy_file, const char *audit_log, char *buf, size_t len,
			      char *err, size_t errlen)
{
	size_t off;

	off = snprintf(buf, len, "lowerdir=");
	for (size_t i = 0; i < m->n_lower; i++) {
		/* ':' and ',' separate fuseboxd's options: such paths can't be passed. */
		if (strpbrk(m->lower[i], ":,"))
			return fb_errf(err, errlen, -EINVAL,
				       "lower \"%s\" contains ':' or ',' (not supported)",
				       m->lower[i]);
		off += snprintf(buf + off, off < len ? len - off : 0, "%s%s", i ? ":" : "",
				m->lower[i]);
	}
	if (upper) {
		if (strpbrk(upper, ":,"))
			return fb_errf(err, errlen, -EINVAL,
				       "upper \"%s\" contains ':' or ',' (not supported)", upper);
		off += snprintf(buf + off, off < len ? len - off : 0,
				",upperdir=%s/data,workdir=%s/work", upper, upper);
	} else {
		off += snprintf(buf + off, off < len ? len - off : 0, ",ro");
	}
	if (m->data == FB_DATA_CACHED)
		off += snprintf(buf + off, off < len ? len - off : 0, ",noopen");
	/* fuseboxd decides each access with the policy, at the mount's container path. */
	if (policy_file) {
		off += snprintf(buf + off, off < len ? len - off : 0, ",policy=");
		append_escaped(buf, len, &off, policy_file);
		off += snprintf(buf + off, off < len ? len - off : 0, ",policy_root=");
		append_escaped(buf, len, &off, m->target);
		if (audit_log) {
			off += snprintf(buf + off, off < len ? len - off : 0, ",audit_log=");
			append_escaped(buf, len, &off, audit_log);
		}
	}
	if (off >= len)
		return fb_errf(err, errlen, -ENAMETOOLONG, "too many or too long lower paths");
	return 0;
}

/* Move fd to exactly target, safe against the sources overlapping the targets. */
static int place_fds(const int *src, const int *dst, size_t n)
{
	int tmp[8];

	for (size_t i = 0; i < n; i++) {
		tmp[i] = fcntl(src[i], F_DUPFD, 64);
		if (tmp[i] < 0)
			return -errno;
	}
	for (size_t i = 0; i < n; i++)
		if (dup2(tmp[i], dst[i]) < 0)
			return -errno;
	return 0;
}

static void __attribute__((noreturn)) exec_daemon(const struct fb_conf *conf, const char *opts,
						  int devnull, int logfd, int ready_w, int fusefd)
{
	char spin[32], prefetch[32];
	char *argv[10];
	size_t argc = 0;
	char *const envp[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			       NULL };
	const int src[] = { devnull, devnull, logfd, ready_w, fusefd };
	const int dst[] = { 0, 1, 2, DAEMON_READY_FD, DAEMON_FUSE_FD };
	sigset_t all;

	argv[argc++] = "fuseboxd";
	argv[argc++] = "-f";
	argv[argc++] = "--ready-fd=3";
	if (conf->fuseboxd_spin_us >= 0) {
		snprintf(spin, sizeof(spin), "--spin=%d", conf->fuseboxd_spin_us);
		argv[argc++] = spin;
	}
	if (conf->fuseboxd_prefetch >= 0) {
		snprintf(prefetch, sizeof(prefetch), "--prefetch=%d", conf->fuseboxd_prefetch);
		argv[argc++] = prefetch;
	}
	argv[argc++] = "-o";
	argv[argc++] = (char *)opts;
	argv[argc++] = "/dev/fd/4";
	argv[argc] = NULL;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (place_fds(src, dst, ARRAY_SIZE(src)) < 0)
		_exit(126);
	close_range(DAEMON_FUSE_FD + 1, ~0U, 0);
	execve(conf->fuseboxd, argv, envp);
	dprintf(2, "fusebox-hook: exec %s: %s\n", conf->fuseboxd, strerror(errno));
	_exit(127);
}

int fb_spawn_daemon(const struct fb_conf *conf, const struct fb_mount_spec *m,
		    const char *upper, const char *policy_file, const char *audit_log,
		    const char *logpath, int fusefd, pid_t *pid, int *ready_fd, char *err,
		    size_t errlen)
{
	_cleanup_close_ int devnull = -1, logfd = -1;
	int ready[2] = { -1, -1 }, pidpipe[2] = { -1, -1 };
	char opts[FB_LOWERS_MAX * 4200 / 4];
	pid_t child, daemon = 0;
	int status, r;

	r = build_lowerdir_opt(m, upper, policy_file, audit_log, opts, sizeof(opts), err, errlen);
	if (r < 0)
		return r;
	if (access(conf->fuseboxd, X_OK) < 0)
		return fb_errf(err, errlen, -errno, "fuseboxd %s: %s (set fuseboxd in fusebox.conf)",
			       conf->fuseboxd, strerror(errno));
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (devnull < 0 || logfd < 0)
		return fb_errf(err, errlen, -errno, "%s: %s", logpath, strerror(errno));
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(pidpipe, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	child = fork();
	if (child < 0) {
		r = -errno;
		goto fail;
	}
	if (child == 0) {
		pid_t grandchild;

		setsid();
		grandchild = fork();
		if (grandchild == 0)
			exec_daemon(conf, opts, devnull, logfd, ready[1], fusefd);
		write_full(pidpipe[1], &grandchild, sizeof(grandchild));
		_exit(grandchild < 0 ? 1 : 0);
	}
	close(pidpipe[1]);
	pidpipe[1] = -1;
	close(ready[1]);
	ready[1] = -1;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (read(pidpipe[0], &daemon, sizeof(daemon)) != sizeof(daemon) || daemon <= 0) {
		r = fb_errf(err, errlen, -ECHILD, "could not start fuseboxd");
		goto fail;
	}
	close(pidpipe[0]);
	*pid = daemon;
	*ready_fd = ready[0];
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (ready[i] >= 0)
			close(ready[i]);
		if (pidpipe[i] >= 0)
			close(pidpipe[i]);
	}
	return r;
}

/* Last non-empty line of a small log file, for the error message. */
static void last_log_line(const char *logpath, char *buf, size_t len)
{
	_cleanup_free_ char *text = NULL;
	ssize_t n = read_full_file(AT_FDCWD, logpath, 64 * 1024, &text);
	char *end, *start;

	buf[0] = '\0';
	if (n <= 0)
		return;
	end = text + n;
	while (end > text && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	start = strrchr(text, '\n');
	snprintf(buf, len, "%s", start ? start + 1 : text);
}

int fb_wait_ready(int ready_fd, int timeout_ms, const char *logpath, char *err, size_t errlen)
{
	struct pollfd p = { .fd = ready_fd, .events = POLLIN };
	char buf[16] = "", line[400];
	struct timespec t0, t1;
	size_t got = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int left, r;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = timeout_ms - (int)((t1.tv_sec - t0.tv_sec) * 1000 +
					  (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return fb_errf(err, errlen, -ETIMEDOUT,
				       "fuseboxd did not become ready within %d ms", timeout_ms);
		r = poll(&p, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		n = read(ready_fd, buf + got, sizeof(buf) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0) {
			got += n;
			buf[got] = '\0';
			if (startswith(buf, "ready"))
				return 0;
			if (got < sizeof(buf) - 1)
				continue;
		}
		last_log_line(logpath, line, sizeof(line));
		return fb_errf(err, errlen, -EIO, "fuseboxd failed to start: %s",
			       line[0] ? line : "no message");
	}
}
