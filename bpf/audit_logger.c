// SPDX-License-Identifier: GPL-2.0-only
/* The node's audit logger: the policy ring buffer into per-container logs. See audit_logger.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "audit_logger.h"
#include "hook/lib/auditlog.h"
#include "policy_load.h"
#include "util.h"

#define PIN_EVENTS FB_POLICY_PIN_DIR "/fb_audit_events"
#define MAP_MAX 4096 /* containers remembered by cgroup id */

/* ---- formatting an event ---------------------------------------------------------- */

static const char *const op_names[FB_OP_MAX] = {
	[FB_OP_OPEN] = "open",		  [FB_OP_EXEC] = "exec",
	[FB_OP_MMAP] = "mmap",		  [FB_OP_MPROTECT] = "mprotect",
	[FB_OP_MKNOD] = "create",	  [FB_OP_MKDIR] = "mkdir",
	[FB_OP_SYMLINK] = "symlink",	  [FB_OP_UNLINK] = "unlink",
	[FB_OP_RMDIR] = "rmdir",	  [FB_OP_RENAME_FROM] = "rename-from",
	[FB_OP_RENAME_TO] = "rename-to",  [FB_OP_LINK_FROM] = "link-from",
	[FB_OP_LINK_TO] = "link-to",	  [FB_OP_CHMOD] = "chmod",
	[FB_OP_CHOWN] = "chown",	  [FB_OP_TRUNCATE] = "truncate",
	[FB_OP_UTIMES] = "utimes",	  [FB_OP_SETXATTR] = "setxattr",
	[FB_OP_REMOVEXATTR] = "removexattr", [FB_OP_SETACL] = "setacl",
	[FB_OP_REMOVEACL] = "removeacl",
};

/* "/a/b/c" from the event's components (comp[0] is the object's own name). */
static void format_path(const struct fb_audit_event *ev, char *buf, size_t len)
{
	size_t off = 0;
	__u32 n = ev->n_comps < FB_AUDIT_COMPS ? ev->n_comps : FB_AUDIT_COMPS;

	buf[0] = '\0';
	if (ev->flags & FB_AUDIT_OUTSIDE)
		off += snprintf(buf + off, len - off, "(outside the container)");
	else if (ev->flags & FB_AUDIT_TRUNCATED)
		off += snprintf(buf + off, len - off, "...");
	for (__u32 i = n; i-- > 0 && off < len;)
		off += snprintf(buf + off, len - off, "/%.*s", FB_AUDIT_COMP_LEN, ev->comp[i]);
	if (n == 0 && off < len)
		snprintf(buf + off, len - off, "/");
}

/* "<who> pid= uid= comm= op= rights= path= verdict= by=" (no time). */
static void format_event(const struct fb_audit_event *ev, const char *who, char *buf, size_t len)
{
	char path[FB_AUDIT_COMPS * (FB_AUDIT_COMP_LEN + 1) + 32], rights[128], by[32];
	char comm[sizeof(ev->comm) + 1];
	const char *op = ev->op < FB_OP_MAX && op_names[ev->op] ? op_names[ev->op] : "?";

	memcpy(comm, ev->comm, sizeof(ev->comm));
	comm[sizeof(ev->comm)] = '\0';
	format_path(ev, path, sizeof(path));
	switch (ev->by) {
	case FB_AUDIT_BY_RULE:
		snprintf(by, sizeof(by), "rules[%u]", ev->rule);
		break;
	case FB_AUDIT_BY_PIN:
		snprintf(by, sizeof(by), "pin:rules[%u]", ev->rule);
		break;
	case FB_AUDIT_BY_WALK_LIMIT:
		snprintf(by, sizeof(by), "walk-limit");
		break;
	case FB_AUDIT_BY_NO_PATH:
		snprintf(by, sizeof(by), "no-path");
		break;
	default:
		snprintf(by, sizeof(by), "default");
	}
	snprintf(buf, len, "%s pid=%u uid=%u comm=%s op=%s rights=%s path=%s verdict=%s by=%s", who,
		 ev->pid, ev->uid, comm, op, fb_rights_format(ev->rights, rights, sizeof(rights)),
		 path, ev->mode == FB_MODE_AUDIT ? "audit" : "deny", by);
}

/* ---- the logger ------------------------------------------------------------------ */

struct container {
	__u64 cgid;
	char *id;
	unsigned long long lost; /* events not written to its log */
	int lost_err;
	__u64 dropped; /* the kernel's count of events it could not queue, as last reported */
};

struct logger {
	const struct fb_conf *conf;
	int cfg_fd;		     /* fb_policy_cfg: each container's dropped count */
	struct timespec dropped_at; /* when the counts were last looked at */
	size_t n;
	struct container c[MAP_MAX];
};

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	stop = 1;
}

static struct container *find(struct logger *lg, __u64 cgid)
{
	for (size_t i = 0; i < lg->n; i++)
		if (lg->c[i].cgid == cgid)
			return &lg->c[i];
	return NULL;
}

static void forget_all(struct logger *lg)
{
	for (size_t i = 0; i < lg->n; i++)
		free(lg->c[i].id);
	lg->n = 0;
}

/*
 * Add the containers with a policy from the hook's state. Cgroup ids are not
 * reused within a boot, so entries stay until the table is full.
 */
static void learn(struct logger *lg)
{
	char **ids = NULL;
	int n = fb_state_list(lg->conf, &ids);

	if (n > 0 && lg->n + (size_t)n > MAP_MAX)
		forget_all(lg);
	for (int i = 0; i < n; i++) {
		struct fb_state st;

		if (fb_state_read(lg->conf, ids[i], &st, NULL, 0) == 0) {
			if (st.policy.on && !find(lg, st.policy.cgroup_id) && lg->n < MAP_MAX) {
				lg->c[lg->n] = (struct container){ .cgid = st.policy.cgroup_id,
								   .id = TAKE_PTR(ids[i]) };
				lg->n++;
			}
			fb_state_free(&st);
		}
		free(ids[i]);
	}
	free(ids);
}

/* The event's CLOCK_REALTIME time, from its CLOCK_BOOTTIME stamp. */
static struct timespec event_time(__u64 boot_ns)
{
	struct timespec real, boot;
	__s64 ns;

	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	ns = (__s64)real.tv_sec * 1000000000 + real.tv_nsec -
	     ((__s64)boot.tv_sec * 1000000000 + boot.tv_nsec - (__s64)boot_ns);
	return (struct timespec){ .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };
}

static void write_line(struct container *c, const struct fb_conf *conf, const char *when,
		       const char *text)
{
	char path[PATH_MAX], line[FB_AUDIT_LINE_MAX];
	int r = fb_audit_log_path(conf->log_dir, c->id, path, sizeof(path));

	if (r == 0 && c->lost) {
		snprintf(line, sizeof(line), "%s %s audit: %llu events lost (writing this log: %s)",
			 when, c->id, c->lost, strerror(c->lost_err));
		r = fb_audit_log_append(path, line);
		if (r == 0)
			c->lost = 0;
	}
	if (r == 0) {
		snprintf(line, sizeof(line), "%s %s", when, text);
		r = fb_audit_log_append(path, line);
	}
	if (r < 0) {
		if (!c->lost)
			syslog(LOG_ERR, "%s: writing the audit log %s: %s (counting lost events)",
			       c->id, path, strerror(-r));
		c->lost++;
		c->lost_err = -r;
	}
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct logger *lg = ctx;
	const struct fb_audit_event *ev = data;
	char text[FB_AUDIT_LINE_MAX - 64], who[64], when[40];
	struct container *c;
	struct timespec t;

	if (size < sizeof(*ev))
		return 0;
	c = find(lg, ev->cgroup_id);
	if (!c) {
		learn(lg); /* a container that started after we looked */
		c = find(lg, ev->cgroup_id);
	}
	if (c)
		snprintf(who, sizeof(who), "%s", c->id);
	else
		snprintf(who, sizeof(who), "cgroup:%llu", (unsigned long long)ev->cgroup_id);
	format_event(ev, who, text, sizeof(text));
	syslog(LOG_NOTICE, "%s", text);
	if (c) {
		t = event_time(ev->ktime_ns);
		fb_audit_time(&t, when, sizeof(when));
		write_line(c, lg->conf, when, text);
	}
	return 0;
}

/*
 * Events the kernel could not queue (ring buffer full) are counted per container
 * in its fb_policy_cfg; once a second, report what was added, in the container's
 * log and in syslog. poststop writes the total when the container is gone.
 */
static void report_dropped(struct logger *lg)
{
	struct timespec now, t;
	char when[40], line[256];

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec - lg->dropped_at.tv_sec < 1)
		return;
	lg->dropped_at = now;
	for (size_t i = 0; i < lg->n; i++) {
		struct container *c = &lg->c[i];
		struct fb_policy_cfg cfg;

		if (bpf_map_lookup_elem(lg->cfg_fd, &c->cgid, &cfg) < 0 || cfg.dropped <= c->dropped)
			continue;
		snprintf(line, sizeof(line),
			 "%s audit: %llu more events lost (the kernel's ring buffer was full; "
			 "%llu in all)",
			 c->id, (unsigned long long)(cfg.dropped - c->dropped),
			 (unsigned long long)cfg.dropped);
		c->dropped = cfg.dropped;
		syslog(LOG_WARNING, "%s", line);
		clock_gettime(CLOCK_REALTIME, &t);
		fb_audit_time(&t, when, sizeof(when));
		write_line(c, lg->conf, when, line);
	}
}

int fb_audit_logger_run(const struct fb_conf *conf, int ready_fd)
{
	struct fb_policy_set set = FB_POLICY_SET_INIT;
	struct sigaction sa = { .sa_handler = on_term };
	_cleanup_close_ int lock = -1;
	struct ring_buffer *rb = NULL;
	struct logger *lg = NULL;
	int r, ret = 1;

	openlog("fusebox-audit", LOG_PID, LOG_AUTHPRIV);
	lock = open(FB_AUDIT_LOGGER_LOCK, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lock < 0) {
		syslog(LOG_ERR, "%s: %s", FB_AUDIT_LOGGER_LOCK, strerror(errno));
		return 1;
	}
	if (flock(lock, LOCK_EX | LOCK_NB) < 0) {
		/* Another logger reads the ring buffer: that is all that was asked. */
		write_full(ready_fd, "ready\n", 6);
		return errno == EWOULDBLOCK ? 0 : 1;
	}
	if (ftruncate(lock, 0) < 0 || dprintf(lock, "%d\n", (int)getpid()) < 0)
		goto out;
	r = fb_policy_set_open(&set);
	if (r < 0) {
		syslog(LOG_ERR, "opening %s: %s", FB_POLICY_PIN_DIR, strerror(-r));
		goto out;
	}
	r = fb_audit_log_dir(conf->log_dir);
	if (r < 0) {
		syslog(LOG_ERR, "log_dir %s: %s", conf->log_dir, strerror(-r));
		goto out;
	}
	lg = calloc(1, sizeof(*lg));
	if (!lg)
		goto out;
	lg->conf = conf;
	lg->cfg_fd = set.cfg_fd;
	learn(lg);
	rb = ring_buffer__new(set.events_fd, on_event, lg, NULL);
	if (!rb) {
		syslog(LOG_ERR, "reading the audit ring buffer: %s", strerror(errno));
		goto out;
	}
	/* No SA_RESTART: SIGTERM ends the poll at once. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	write_full(ready_fd, "ready\n", 6);
	while (!stop) {
		r = ring_buffer__poll(rb, 1000);
		if (r < 0 && r != -EINTR) {
			syslog(LOG_ERR, "polling the audit ring buffer: %s", strerror(-r));
			goto out;
		}
		report_dropped(lg);
		/* Unpinned without a stop (the set is gone): nothing more will come. */
		if (r == 0 && access(PIN_EVENTS, F_OK) < 0 && errno == ENOENT)
			break;
	}
	ring_buffer__consume(rb);
	ret = 0;
out:
	ring_buffer__free(rb);
	fb_policy_set_close(&set);
	if (lg)
		forget_all(lg);
	free(lg);
	return ret;
}

/* ---- starting and stopping it ----------------------------------------------------- */

/* The pid of the running logger, or 0. */
static pid_t logger_pid(void)
{
	_cleanup_close_ int fd = open(FB_AUDIT_LOGGER_LOCK, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char buf[24] = "";
	long pid;

	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		return 0; /* not held: no logger */
	if (read(fd, buf, sizeof(buf) - 1) <= 0)
		return 0;
	pid = strtol(buf, NULL, 10);
	return pid > 0 && pid < INT_MAX ? (pid_t)pid : 0;
}

bool fb_audit_logger_running(void)
{
	return logger_pid() > 0;
}

static void __attribute__((noreturn)) exec_logger(const struct fb_conf *conf, int devnull,
						  int ready_w)
{
	char *argv[] = { "fusebox-hook", "--config", conf->path, FB_AUDIT_LOGGER_ARG, NULL };
	char *argv_default[] = { "fusebox-hook", FB_AUDIT_LOGGER_ARG, NULL };
	char *const envp[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			       NULL };
	int r = fcntl(ready_w, F_DUPFD, 64), n = fcntl(devnull, F_DUPFD, 64);
	sigset_t all;

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (r < 0 || n < 0 || dup2(n, 0) < 0 || dup2(n, 1) < 0 || dup2(n, 2) < 0 || dup2(r, 3) < 0)
		_exit(126);
	close_range(4, ~0U, 0);
	execve("/proc/self/exe", conf->path ? argv : argv_default, envp);
	_exit(127);
}

int fb_audit_logger_start(const struct fb_conf *conf, char *err, size_t errlen)
{
	_cleanup_close_ int devnull = -1, ready_r = -1;
	struct pollfd p = { .events = POLLIN };
	int ready[2] = { -1, -1 }, status;
	char buf[8] = "";
	pid_t child;
	ssize_t n;

	if (fb_audit_logger_running())
		return 0;
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || pipe2(ready, O_CLOEXEC) < 0)
		return fb_errf(err, errlen, -errno, "starting the audit logger: %s",
			       strerror(errno));
	ready_r = ready[0];
	child = fork();
	if (child < 0) {
		close(ready[1]);
		return fb_errf(err, errlen, -errno, "starting the audit logger: %s",
			       strerror(errno));
	}
	if (child == 0) {
		/* Its own session, reparented away from the hook: the runtime must not wait for it. */
		setsid();
		if (fork() == 0)
			exec_logger(conf, devnull, ready[1]);
		_exit(0);
	}
	close(ready[1]);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	p.fd = ready_r;
	while (poll(&p, 1, conf->ready_timeout_ms) < 0 && errno == EINTR)
		;
	n = read(ready_r, buf, sizeof(buf) - 1);
	if (n <= 0 || !startswith(buf, "ready"))
		return fb_errf(err, errlen, -EIO,
			       "the audit logger did not start within %d ms (see syslog, "
			       "fusebox-audit)",
			       conf->ready_timeout_ms);
	return 0;
}

int fb_audit_logger_stop(int timeout_ms)
{
	struct pollfd p = { .events = POLLIN };
	_cleanup_close_ int pidfd = -1;
	pid_t pid = logger_pid();

	if (pid <= 0)
		return 0;
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0)
		return errno == ESRCH ? 0 : -errno;
	/* Still the lock's holder now that the pidfd pins the process: it is the logger. */
	if (logger_pid() != pid)
		return 0;
	if (pidfd_send_signal(pidfd, SIGTERM, NULL, 0) < 0)
		return errno == ESRCH ? 0 : -errno;
	p.fd = pidfd;
	if (poll(&p, 1, timeout_ms) > 0)
		return 0;
	if (pidfd_send_signal(pidfd, SIGKILL, NULL, 0) < 0)
		return errno == ESRCH ? 0 : -errno;
	return poll(&p, 1, 2000) > 0 ? 0 : -ETIMEDOUT;
}
