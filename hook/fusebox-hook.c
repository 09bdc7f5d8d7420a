// SPDX-License-Identifier: GPL-2.0-only
/*
 * fusebox-hook: the OCI runtime hook.
 *   fusebox-hook [--config FILE] createRuntime|prestart|poststop  (OCI state on stdin)
 * createRuntime (or prestart, for runtimes that only know it) mounts the
 * container's fusebox mounts and attaches its file-access policy; poststop
 * undoes everything. Other stages exit 0.
 * Errors: one line on stderr, "fusebox-hook: <id>: <what is wrong>", exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <syslog.h>

#include "audit_logger.h"
#include "auditlog.h"
#include "hook.h"
#include "oci.h"
#include "policy_load.h"
#include "policy_setup.h"
#include "state.h"
#include "util.h"

#define ERRLEN 1024

static const char *const known_annotations[] = {
	FB_ANNOT_MOUNTS,
	"fusebox.io/policy",
	"fusebox.io/profile",
	"fusebox.io/programs",
};

static void fail_msg(const char *id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail_msg(const char *id, const char *fmt, ...)
{
	char msg[ERRLEN + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "fusebox-hook: %s: %s\n", id ? id : "-", msg);
	syslog(LOG_ERR, "%s: %s", id ? id : "-", msg);
}

/* Every fusebox.io/ annotation must be one we know and a string. */
static int check_annotations(const json_t *ann, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)ann, key, v) {
		size_t i;

		if (!startswith(key, "fusebox.io/"))
			continue;
		for (i = 0; i < ARRAY_SIZE(known_annotations); i++)
			if (streq(key, known_annotations[i]))
				break;
		if (i == ARRAY_SIZE(known_annotations))
			return fb_errf(err, errlen, -EINVAL,
				       "unknown annotation \"%.64s\" (expected fusebox.io/mounts, "
				       "fusebox.io/policy, fusebox.io/profile, fusebox.io/programs)",
				       key);
		if (!json_is_string(v))
			return fb_errf(err, errlen, -EINVAL, "annotation %s: value must be a string",
				       key);
	}
	return 0;
}

struct setup {
	const struct fb_conf *conf;
	struct fb_state st;
	struct fb_mounts mounts;
	struct fb_policy_req policy;
	char *policy_file; /* fuseboxd enforces the policy: <state dir>/policy.json */
	int pidfd;
	bool dir_created;
	size_t n_mounted;
};

static void undo_setup(struct setup *s)
{
	char err[ERRLEN];

	/* Reverse order of creation: policy, daemons, mounts, state dir. */
	if (fb_policy_undo(s->conf, s->st.id, &s->st.policy, err, sizeof(err)) < 0)
		syslog(LOG_ERR, "%s: undoing the policy: %s", s->st.id, err);
	for (size_t i = s->st.n; i-- > 0;)
		fb_stop_daemon(s->st.m[i].daemon_pid, s->st.m[i].daemon_start, 1000);
	for (size_t i = s->n_mounted; i-- > 0;)
		fb_ns_umount(s->pidfd, s->st.rootfs, s->mounts.m[i].target);
	if (s->dir_created) {
		char dir[PATH_MAX];

		if (fb_state_path(s->conf, s->st.id, dir, sizeof(dir)) == 0)
			rm_rf_at(AT_FDCWD, dir);
	}
}

/* mkdir that accepts an existing directory (never a symlink to one). */
static int mkdir_exist_ok(int dirfd, const char *name, mode_t mode)
{
	struct stat st;

	if (mkdirat(dirfd, name, mode) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/*
 * The host directory holding a writable mount's data/ (the upper layer) and
 * work/ (fuseboxd's private work dir, same file system): inside the state dir
 * for "ephemeral" (removed with it at poststop), the annotation's directory
 * for a persistent upper. Into *upper (allocated).
 */
static int prepare_upper(const struct setup *s, size_t i, const char *statedir, char **upper,
			 char *err, size_t errlen)
{
	const struct fb_mount_spec *m = &s->mounts.m[i];
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *path = NULL;
	int r;

	if (m->upper_kind == FB_UPPER_EPHEMERAL) {
		if (asprintf(&path, "%s/upper.%zu", statedir, i) < 0)
			return -ENOMEM;
		if (mkdir(path, 0700) < 0)
			return fb_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	} else {
		path = strdup(m->upper);
		if (!path)
			return -ENOMEM;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fb_errf(err, errlen, -errno, FB_ANNOT_MOUNTS ": [%zu].upper: %s: %s", i,
			       path, strerror(errno));
	r = mkdir_exist_ok(fd, "data", 0755);
	if (r == 0)
		r = mkdir_exist_ok(fd, "work", 0700);
	if (r < 0)
		return fb_errf(err, errlen, r, FB_ANNOT_MOUNTS ": [%zu].upper: %s: %s", i, path,
			       strerror(-r));
	*upper = TAKE_PTR(path);
	return 0;
}

static int mount_one(struct setup *s, size_t i, char *err, size_t errlen)
{
	const struct fb_mount_spec *m = &s->mounts.m[i];
	struct fb_state_mount *sm = &s->st.m[i];
	char dir[PATH_MAX], logpath[PATH_MAX + 48], audit_log[PATH_MAX];
	const char *policy_file = m->data == FB_DATA_CACHED ? NULL : s->policy_file;
	_cleanup_close_ int fusefd = -1, ready = -1;
	char inner[ERRLEN];
	int r;

	r = fb_state_path(s->conf, s->st.id, dir, sizeof(dir));
	if (r < 0)
		return r;
	snprintf(logpath, sizeof(logpath), "%s/fuseboxd.%zu.log", dir, i);
	/* Its denials outlive the container, in the same log as the kernel's would. */
	if (policy_file) {
		r = fb_audit_log_path(s->conf->log_dir, s->st.id, audit_log, sizeof(audit_log));
		if (r == 0)
			r = fb_audit_log_dir(s->conf->log_dir);
		if (r < 0)
			return fb_errf(err, errlen, r, "log_dir %s: %s", s->conf->log_dir,
				       strerror(-r));
	}

	fusefd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fusefd < 0)
		return fb_errf(err, errlen, -errno, "/dev/fuse: %s", strerror(errno));
	r = fb_ns_mount_fuse(s->pidfd, s->st.rootfs, m->target, fusefd,
			     m->upper_kind == FB_UPPER_NONE, inner, sizeof(inner));
	if (r < 0)
		return fb_errf(err, errlen, r, FB_ANNOT_MOUNTS ": [%zu]: %s", i, inner);
	s->n_mounted = i + 1;
	sm->target = strdup(m->target);
	sm->upper_kind = m->upper_kind;
	if (!sm->target)
		return -ENOMEM;
	s->st.n = i + 1;
	if (m->upper_kind != FB_UPPER_NONE) {
		/* Recorded first: an ephemeral upper is removed with the state dir. */
		r = prepare_upper(s, i, dir, &sm->upper, err, errlen);
		if (r < 0)
			return r;
	}

	/*
	 * A cached mount never sees opens, so fuseboxd refuses a policy there; it
	 * holds no restricting rule unless degraded enforcement listed it as a gap.
	 */
	r = fb_spawn_daemon(s->conf, m, sm->upper, policy_file, policy_file ? audit_log : NULL,
			    logpath, fusefd, &sm->daemon_pid, &ready, inner, sizeof(inner));
	if (r < 0)
		return fb_errf(err, errlen, r, FB_ANNOT_MOUNTS ": [%zu]: %s", i, inner);
	proc_starttime(sm->daemon_pid, &sm->daemon_start);
	/* Recorded before waiting, so that a crash here still lets poststop clean up. */
	r = fb_state_write(s->conf, &s->st);
	if (r < 0)
		return fb_errf(err, errlen, r, "writing state: %s", strerror(-r));
	r = fb_wait_ready(ready, s->conf->ready_timeout_ms, logpath, inner, sizeof(inner));
	if (r < 0)
		return fb_errf(err, errlen, r, FB_ANNOT_MOUNTS ": [%zu]: %s", i, inner);
	return 0;
}

static int stage_create(const struct fb_conf *conf, struct fb_oci_state *state, char *err,
			size_t errlen)
{
	struct fb_oci_config cfg = { 0 };
	struct setup s = { .conf = conf, .pidfd = -1 };
	const json_t *ann;
	const char *mounts_json;
	bool want_policy;
	int r;

	/* Fast path: the state carries the annotations and none is ours. */
	if (state->annotations && !fb_annotations_want_fusebox(state->annotations))
		return 0;
	if (!state->bundle)
		return fb_errf(err, errlen, -EINVAL, "OCI state: missing \"bundle\"");
	r = fb_oci_config_load(state->bundle, &cfg, err, errlen);
	if (r < 0)
		return r;
	ann = cfg.annotations ? cfg.annotations : state->annotations;
	if (!fb_annotations_want_fusebox(ann))
		goto out;
	r = check_annotations(ann, err, errlen);
	if (r < 0)
		goto out;
	mounts_json = fb_annotation(ann, FB_ANNOT_MOUNTS);
	want_policy = fb_policy_wanted(ann);
	if (!mounts_json && !want_policy)
		goto out;
	if (mounts_json) {
		r = fb_mounts_parse(mounts_json, &s.mounts, err, errlen);
		if (r < 0)
			goto out;
		r = fb_mounts_check(&s.mounts, conf, err, errlen);
		if (r < 0)
			goto out;
	}
	/* Everything that needs no kernel, then the kernel: before anything is made. */
	if (want_policy) {
		r = fb_policy_req_parse(conf, ann, &s.policy, err, errlen);
		if (r < 0)
			goto out;
		r = fb_policy_kernel_check(conf, &s.mounts, &s.policy, err, errlen);
		if (r < 0)
			goto out;
	}
	if (state->pid <= 0) {
		r = fb_errf(err, errlen, -EINVAL,
			    "OCI state: no \"pid\" (run fusebox-hook as a createRuntime or "
			    "prestart hook)");
		goto out;
	}
	s.pidfd = pidfd_open(state->pid, 0);
	if (s.pidfd < 0) {
		r = fb_errf(err, errlen, -errno, "container pid %d: %s", state->pid,
			    strerror(errno));
		goto out;
	}
	s.st.id = state->id;
	s.st.rootfs = cfg.root_path;
	s.st.container_pid = state->pid;
	r = fb_state_create_dir(conf, state->id, err, errlen);
	if (r < 0)
		goto out;
	s.dir_created = true;
	s.st.enforcement = s.policy.enforcement;
	s.st.not_enforced = s.policy.not_enforced;
	/* Before the daemons start: they read it at startup. Goes with the state dir. */
	if (fb_policy_by_fuseboxd(&s.policy))
		r = fb_policy_write_file(conf, state->id, &s.policy, &s.policy_file, err, errlen);
	for (size_t i = 0; i < s.mounts.n && r == 0; i++)
		r = mount_one(&s, i, err, errlen);
	/* After the mounts: rules may name objects inside them. */
	if (r == 0 && s.policy.enforcement == FB_ENFORCE_BPF_LSM)
		r = fb_policy_apply(conf, &s.policy, state->pid, cfg.root_path, &s.st, err,
				    errlen);
	else if (r == 0 && fb_policy_by_fuseboxd(&s.policy)) {
		r = fb_state_write(conf, &s.st);
		if (r < 0)
			fb_errf(err, errlen, r, "writing state: %s", strerror(-r));
	}
	if (r < 0)
		undo_setup(&s);
	else if (s.policy.enforcement == FB_ENFORCE_FUSEBOXD_DEGRADED)
		syslog(LOG_WARNING,
		       "%s: %s: degraded enforcement (no BPF LSM): fuseboxd enforces the policy "
		       "inside the fusebox mounts only; NOT enforced: %s",
		       state->id, s.policy.annotation, s.policy.not_enforced);
out:
	/* id and rootfs are borrowed from state and cfg. */
	s.st.id = NULL;
	s.st.rootfs = NULL;
	s.st.not_enforced = NULL;
	free(s.policy_file);
	fb_state_free(&s.st);
	fb_mounts_free(&s.mounts);
	fb_policy_req_free(&s.policy);
	if (s.pidfd >= 0)
		close(s.pidfd);
	fb_oci_config_free(&cfg);
	return r;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fusebox-hook [--config FILE] createRuntime|prestart|poststop\n"
		   "  reads the OCI state on stdin; see fusebox(8) and README.md\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *config = NULL, *stage;
	struct fb_oci_state state = { 0 };
	struct fb_conf conf = { 0 };
	_cleanup_free_ char *input = NULL;
	char err[ERRLEN] = "";
	ssize_t n;
	int c, r;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	stage = argv[optind];
	/* The node's audit logger, started by an earlier createRuntime (audit_logger.h). */
	if (streq(stage, FB_AUDIT_LOGGER_ARG)) {
		openlog("fusebox-audit", LOG_PID, LOG_AUTHPRIV);
		r = fb_conf_load(config, &conf, err, sizeof(err));
		if (r == 0)
			r = fb_audit_logger_run(&conf, 3);
		else
			syslog(LOG_ERR, "audit logger: %s", err);
		r = r < 0 ? 1 : r;
		fb_conf_free(&conf);
		return r;
	}
	if (!streq(stage, "createRuntime") && !streq(stage, "prestart") &&
	    !streq(stage, "poststop"))
		return 0;
	openlog("fusebox-hook", LOG_PID, LOG_DAEMON);

	n = read_full_fd(STDIN_FILENO, FB_OCI_STATE_MAX, &input);
	if (n < 0) {
		fail_msg(NULL, "reading OCI state from stdin: %s",
			 n == -EFBIG ? "larger than 1 MiB" : strerror(-n));
		return 1;
	}
	if (fb_oci_state_parse(input, n, &state, err, sizeof(err)) < 0) {
		fail_msg(NULL, "%s", err);
		return 1;
	}
	r = fb_conf_load(config, &conf, err, sizeof(err));
	if (r < 0) {
		fail_msg(state.id, "%s", err);
		goto out;
	}
	if (streq(stage, "poststop")) {
		int pruned;

		r = fb_teardown(&conf, state.id, fb_policy_undo, err, sizeof(err));
		/* The logs outlive their containers, up to log_keep of them. */
		pruned = fb_audit_log_prune(&conf);

		if (pruned < 0)
			syslog(LOG_WARNING, "%s: pruning the audit logs in %s: %s", state.id,
			       conf.log_dir, strerror(-pruned));
	} else
		r = stage_create(&conf, &state, err, sizeof(err));
	if (r < 0)
		fail_msg(state.id, "%s", err[0] ? err : strerror(-r));
out:
	fb_conf_free(&conf);
	fb_oci_state_free(&state);
	return r < 0 ? 1 : 0;
}
