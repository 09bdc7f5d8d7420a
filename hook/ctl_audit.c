// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuseboxctl audit [--config FILE] [--follow] [--syslog] [ID]
 * Reads the policy's audit events (denials, and would-be denials in audit
 * mode) from the node's pinned ring buffer and prints one line per event:
 *   <container> pid=N uid=N comm=C op=OP rights=R path=P verdict=deny|audit by=WHY
 * The ring buffer has one consumer: this command is the node's reader and
 * the events it reads are gone from the buffer (ID only filters what is
 * printed). Without --follow it prints what is buffered and exits. Events the
 * kernel could not queue (buffer full, no reader) are counted per container
 * and shown by `fuseboxctl status`.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <syslog.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "conf.h"
#include "ctl.h"
#include "policy_load.h"
#include "state.h"
#include "util.h"

#define MAP_MAX 4096 /* containers remembered by cgroup id */

struct audit_ctx {
	const struct fb_conf *conf;
	const char *only; /* container id, or NULL */
	bool use_syslog;
	size_t n;
	struct {
		__u64 cgid;
		char *id;
	} map[MAP_MAX];
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

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

static void map_free(struct audit_ctx *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->map[i].id);
	a->n = 0;
}

/* cgroup id -> container id, from the state the hook keeps. */
static void map_load(struct audit_ctx *a)
{
	char **ids = NULL;
	int n = fb_state_list(a->conf, &ids);

	map_free(a);
	for (int i = 0; i < n; i++) {
		struct fb_state st;

		if (a->n < MAP_MAX && fb_state_read(a->conf, ids[i], &st, NULL, 0) == 0) {
			if (st.policy.on) {
				a->map[a->n].cgid = st.policy.cgroup_id;
				a->map[a->n].id = TAKE_PTR(ids[i]);
				a->n++;
			}
			fb_state_free(&st);
		}
		free(ids[i]);
	}
	free(ids);
}

static const char *map_find(const struct audit_ctx *a, __u64 cgid)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->map[i].cgid == cgid)
			return a->map[i].id;
	return NULL;
}

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

static int on_event(void *ctx, void *data, size_t size)
{
	struct audit_ctx *a = ctx;
	const struct fb_audit_event *ev = data;
	char path[FB_AUDIT_COMPS * (FB_AUDIT_COMP_LEN + 1) + 32], rights[128], by[32], who[64];
	const char *id, *op;
	char comm[sizeof(ev->comm) + 1];

	if (size < sizeof(*ev))
		return 0;
	id = map_find(a, ev->cgroup_id);
	if (!id) {
		map_load(a); /* a container that started after we looked */
		id = map_find(a, ev->cgroup_id);
	}
	if (a->only && (!id || !streq(id, a->only)))
		return 0;
	if (id)
		snprintf(who, sizeof(who), "%s", id);
	else
		snprintf(who, sizeof(who), "cgroup:%llu", (unsigned long long)ev->cgroup_id);
	memcpy(comm, ev->comm, sizeof(ev->comm));
	comm[sizeof(ev->comm)] = '\0';
	format_path(ev, path, sizeof(path));
	op = ev->op < FB_OP_MAX && op_names[ev->op] ? op_names[ev->op] : "?";
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
	printf("%s pid=%u uid=%u comm=%s op=%s rights=%s path=%s verdict=%s by=%s\n", who,
	       ev->pid, ev->uid, comm, op, fb_rights_format(ev->rights, rights, sizeof(rights)),
	       path, ev->mode == FB_MODE_AUDIT ? "audit" : "deny", by);
	if (a->use_syslog)
		syslog(LOG_NOTICE, "%s pid=%u uid=%u comm=%s op=%s rights=%s path=%s verdict=%s by=%s",
		       who, ev->pid, ev->uid, comm, op, rights, path,
		       ev->mode == FB_MODE_AUDIT ? "audit" : "deny", by);
	fflush(stdout);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fuseboxctl audit [--config FILE] [--follow] [--syslog] [ID]\n");
}

int ctl_audit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "follow", no_argument, NULL, 'f' },
		{ "syslog", no_argument, NULL, 's' },
		{},
	};
	struct fb_policy_set set = FB_POLICY_SET_INIT;
	struct audit_ctx *a = NULL;
	struct ring_buffer *rb = NULL;
	const char *config = NULL;
	bool follow = false;
	struct fb_conf conf;
	char err[512];
	int c, r, ret = 1;

	optind = 1;
	a = calloc(1, sizeof(*a));
	if (!a)
		return 1;
	while ((c = getopt_long(argc, argv, "c:fs", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'f':
			follow = true;
			break;
		case 's':
			a->use_syslog = true;
			break;
		default:
			usage(stderr);
			free(a);
			return 2;
		}
	}
	if (argc - optind > 1) {
		usage(stderr);
		free(a);
		return 2;
	}
	if (fb_conf_load(config, &conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuseboxctl: %s\n", err);
		free(a);
		return 1;
	}
	a->conf = &conf;
	a->only = argc - optind == 1 ? argv[optind] : NULL;
	r = fb_policy_set_open(&set);
	if (r == -ENOENT) {
		fprintf(stderr, "fuseboxctl: no policy program set on this node (%s): no container "
				"with a policy runs\n", FB_POLICY_PIN_DIR);
		ret = 0;
		goto out;
	}
	if (r < 0) {
		fprintf(stderr, "fuseboxctl: %s: %s\n", FB_POLICY_PIN_DIR, strerror(-r));
		goto out;
	}
	if (a->use_syslog)
		openlog("fusebox-audit", LOG_PID, LOG_AUTHPRIV);
	map_load(a);
	rb = ring_buffer__new(set.events_fd, on_event, a, NULL);
	if (!rb) {
		fprintf(stderr, "fuseboxctl: reading the audit ring buffer: %s\n", strerror(errno));
		goto out;
	}
	if (!follow) {
		r = ring_buffer__consume(rb);
		ret = r < 0 ? 1 : 0;
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!stop) {
		r = ring_buffer__poll(rb, 500);
		if (r < 0 && r != -EINTR) {
			fprintf(stderr, "fuseboxctl: polling the audit ring buffer: %s\n",
				strerror(-r));
			goto out;
		}
	}
	ret = 0;
out:
	ring_buffer__free(rb);
	fb_policy_set_close(&set);
	map_free(a);
	free(a);
	fb_conf_free(&conf);
	return ret;
}
