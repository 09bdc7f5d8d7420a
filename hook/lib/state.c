// SPDX-License-Identifier: GPL-2.0-only
/* Per-container state and its undo. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "oci.h"
#include "state.h"
#include "util.h"

static const char *const upper_kind_names[] = {
	[FB_UPPER_NONE] = "none",
	[FB_UPPER_EPHEMERAL] = "ephemeral",
	[FB_UPPER_PATH] = "path",
};

static const char *const enforcement_names[] = {
	[FB_ENFORCE_BPF_LSM] = "bpf-lsm",
	[FB_ENFORCE_FUSEBOXD] = "fuseboxd",
	[FB_ENFORCE_FUSEBOXD_DEGRADED] = "fuseboxd-degraded",
};

const char *fb_enforcement_name(enum fb_enforcement e)
{
	return (size_t)e < ARRAY_SIZE(enforcement_names) ? enforcement_names[e] : NULL;
}

static int parse_enforcement(const char *s, enum fb_enforcement *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(enforcement_names); i++)
		if (enforcement_names[i] && streq(s, enforcement_names[i])) {
			*out = i;
			return 0;
		}
	return -EINVAL;
}

int fb_state_path(const struct fb_conf *conf, const char *id, char *buf, size_t len)
{
	if (fb_oci_check_id(id) < 0)
		return -EINVAL;
	if ((size_t)snprintf(buf, len, "%s/%s", conf->state_dir, id) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	char *p;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int fb_state_create_dir(const struct fb_conf *conf, const char *id, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int r;

	r = fb_state_path(conf, id, path, sizeof(path));
	if (r < 0)
		return fb_errf(err, errlen, r, "state dir for this id: %s", strerror(-r));
	r = mkdir_p(conf->state_dir, 0711);
	if (r < 0)
		return fb_errf(err, errlen, r, "%s: %s", conf->state_dir, strerror(-r));
	if (mkdir(path, 0700) < 0) {
		if (errno == EEXIST)
			return fb_errf(err, errlen, -EEXIST,
				       "%s already exists: a container with this id is running or "
				       "was not cleaned up (run: fuseboxctl cleanup %s)",
				       path, id);
		return fb_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	}
	return 0;
}

int fb_state_write(const struct fb_conf *conf, const struct fb_state *st)
{
	char dir[PATH_MAX], file[PATH_MAX + 16];
	json_t *root, *mounts;
	_cleanup_free_ char *text = NULL;
	int r;

	r = fb_state_path(conf, st->id, dir, sizeof(dir));
	if (r < 0)
		return r;
	snprintf(file, sizeof(file), "%s/" FB_STATE_FILE, dir);
	mounts = json_array();
	for (size_t i = 0; i < st->n; i++) {
		const struct fb_state_mount *m = &st->m[i];

		json_array_append_new(
			mounts,
			json_pack("{s:s, s:I, s:I, s:s, s:s?}", "target", m->target, "daemon_pid",
				  (json_int_t)m->daemon_pid, "daemon_start",
				  (json_int_t)m->daemon_start, "upper_kind",
				  upper_kind_names[m->upper_kind], "upper", m->upper));
	}
	root = json_pack("{s:s, s:s*, s:I, s:o}", "id", st->id, "rootfs", st->rootfs,
			 "container_pid", (json_int_t)st->container_pid, "mounts", mounts);
	if (!root)
		return -ENOMEM;
	if (st->enforcement != FB_ENFORCE_NONE &&
	    (json_object_set_new(root, "enforcement",
				 json_string(fb_enforcement_name(st->enforcement))) < 0 ||
	     (st->not_enforced &&
	      json_object_set_new(root, "not_enforced", json_string(st->not_enforced)) < 0))) {
		json_decref(root);
		return -ENOMEM;
	}
	if (st->policy.on &&
	    json_object_set_new(root, "policy",
				json_pack("{s:I, s:s*, s:I}", "cgroup_id",
					  (json_int_t)st->policy.cgroup_id, "cgroup",
					  st->policy.cgroup, "programs",
					  (json_int_t)st->policy.n_programs)) < 0) {
		json_decref(root);
		return -ENOMEM;
	}
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!text)
		return -ENOMEM;
	return write_file_atomic(file, text, strlen(text), 0600);
}

static int parse_upper_kind(const char *s, enum fb_upper_kind *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(upper_kind_names); i++)
		if (streq(s, upper_kind_names[i])) {
			*out = i;
			return 0;
		}
	return -EINVAL;
}

int fb_state_read(const struct fb_conf *conf, const char *id, struct fb_state *st, char *err,
		  size_t errlen)
{
	char dir[PATH_MAX], file[PATH_MAX + 16];
	_cleanup_free_ char *text = NULL;
	json_error_t jerr;
	json_t *root, *mounts, *m, *policy = NULL;
	json_int_t cpid = 0;
	const char *rootfs = NULL, *enforcement = NULL, *not_enforced = NULL;
	size_t i;
	ssize_t n;
	int r;

	memset(st, 0, sizeof(*st));
	r = fb_state_path(conf, id, dir, sizeof(dir));
	if (r < 0)
		return r;
	snprintf(file, sizeof(file), "%s/" FB_STATE_FILE, dir);
	n = read_full_file(AT_FDCWD, file, FB_STATE_MAX, &text);
	if (n < 0)
		return n == -ENOENT ? -ENOENT : fb_errf(err, errlen, n, "%s: %s", file, strerror(-n));
	root = json_loadb(text, n, 0, &jerr);
	if (!root ||
	    json_unpack_ex(root, &jerr, 0, "{s?s, s?I, s:o, s?o, s?s, s?s}", "rootfs", &rootfs,
			   "container_pid", &cpid, "mounts", &mounts, "policy", &policy,
			   "enforcement", &enforcement, "not_enforced", &not_enforced) < 0 ||
	    !json_is_array(mounts) || json_array_size(mounts) > FB_MOUNTS_MAX ||
	    (enforcement && parse_enforcement(enforcement, &st->enforcement) < 0)) {
		json_decref(root);
		return fb_errf(err, errlen, -EINVAL, "%s: corrupt state: %s", file, jerr.text);
	}
	st->id = strdup(id);
	st->rootfs = rootfs ? strdup(rootfs) : NULL;
	st->container_pid = (pid_t)cpid;
	st->not_enforced = not_enforced ? strdup(not_enforced) : NULL;
	if (policy) {
		json_int_t cgid = 0, nprog = 0;
		const char *cgroup = NULL;

		if (json_unpack_ex(policy, &jerr, 0, "{s:I, s?s, s?I}", "cgroup_id", &cgid,
				   "cgroup", &cgroup, "programs", &nprog) < 0 ||
		    nprog < 0 || nprog > 64) {
			json_decref(root);
			fb_state_free(st);
			return fb_errf(err, errlen, -EINVAL, "%s: corrupt policy", file);
		}
		st->policy.on = true;
		st->policy.cgroup_id = (unsigned long long)cgid;
		st->policy.cgroup = cgroup ? strdup(cgroup) : NULL;
		st->policy.n_programs = (unsigned int)nprog;
	}
	json_array_foreach(mounts, i, m) {
		struct fb_state_mount *sm = &st->m[i];
		const char *target = NULL, *kind = "none";
		json_int_t pid = 0, start = 0;
		json_t *upper = NULL;

		if (json_unpack_ex(m, &jerr, 0, "{s:s, s?I, s?I, s?s, s?o}", "target", &target,
				   "daemon_pid", &pid, "daemon_start", &start, "upper_kind", &kind,
				   "upper", &upper) < 0 ||
		    parse_upper_kind(kind, &sm->upper_kind) < 0 || pid < 0 || pid > INT_MAX ||
		    (upper && !json_is_null(upper) && !json_is_string(upper))) {
			json_decref(root);
			fb_state_free(st);
			return fb_errf(err, errlen, -EINVAL, "%s: corrupt mount %zu", file, i);
		}
		sm->target = strdup(target);
		sm->upper = json_is_string(upper) ? strdup(json_string_value(upper)) : NULL;
		sm->daemon_pid = (pid_t)pid;
		sm->daemon_start = (unsigned long long)start;
		st->n = i + 1;
	}
	json_decref(root);
	return 0;
}

void fb_state_free(struct fb_state *st)
{
	free(st->id);
	free(st->rootfs);
	free(st->policy.cgroup);
	free(st->not_enforced);
	for (size_t i = 0; i < st->n; i++) {
		free(st->m[i].target);
		free(st->m[i].upper);
	}
	memset(st, 0, sizeof(*st));
}

static int wait_pidfd(int pidfd, int timeout_ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r;
}

int fb_stop_daemon(pid_t pid, unsigned long long start, int timeout_ms)
{
	_cleanup_close_ int pidfd = -1;
	unsigned long long now;

	if (pid <= 0)
		return 0;
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0)
		return errno == ESRCH ? 0 : -errno;
	/* Checked after pidfd_open: the pidfd now pins this very process. */
	if (proc_starttime(pid, &now) < 0 || now != start)
		return 0;
	if (pidfd_send_signal(pidfd, SIGTERM, NULL, 0) < 0)
		return errno == ESRCH ? 0 : -errno;
	if (wait_pidfd(pidfd, timeout_ms) > 0)
		return 0;
	if (pidfd_send_signal(pidfd, SIGKILL, NULL, 0) < 0)
		return errno == ESRCH ? 0 : -errno;
	return wait_pidfd(pidfd, 2000) > 0 ? 0 : -ETIMEDOUT;
}

int fb_teardown(const struct fb_conf *conf, const char *id, fb_policy_undo_fn undo_policy,
		char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct fb_state st;
	bool keep = false;
	int r, first = 0;

	r = fb_state_path(conf, id, dir, sizeof(dir));
	if (r < 0)
		return fb_errf(err, errlen, r, "invalid container id");
	if (access(dir, F_OK) < 0)
		return errno == ENOENT ? 0 : fb_errf(err, errlen, -errno, "%s: %s", dir,
						      strerror(errno));
	r = fb_state_read(conf, id, &st, err, errlen);
	if (r < 0 && r != -ENOENT)
		first = r; /* corrupt state: still remove the dir below */
	/* The policy first: while the kernel has it, the state must stay to undo it. */
	if (r == 0 && st.policy.on) {
		int k = undo_policy ? undo_policy(conf, id, &st.policy, err, errlen)
				    : fb_errf(err, errlen, -EOPNOTSUPP,
					      "this program cannot remove BPF policies");

		if (k < 0) {
			first = k;
			keep = true;
		}
	}
	for (size_t i = 0; r == 0 && i < st.n; i++) {
		int k = fb_stop_daemon(st.m[i].daemon_pid, st.m[i].daemon_start, 2000);

		if (k < 0 && first == 0)
			first = fb_errf(err, errlen, k, "stopping fuseboxd %d for %s: %s",
					st.m[i].daemon_pid, st.m[i].target, strerror(-k));
	}
	if (r == 0)
		fb_state_free(&st);
	if (keep)
		return first;
	/* Ephemeral uppers live inside the state dir and go with it. */
	r = rm_rf_at(AT_FDCWD, dir);
	if (r < 0 && first == 0)
		first = fb_errf(err, errlen, r, "removing %s: %s", dir, strerror(-r));
	return first;
}

int fb_state_list(const struct fb_conf *conf, char ***ids)
{
	DIR *d = opendir(conf->state_dir);
	struct dirent *de;
	char **v = NULL;
	int n = 0;

	*ids = NULL;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char **nv;

		if (de->d_type != DT_DIR || fb_oci_check_id(de->d_name) < 0)
			continue;
		nv = realloc(v, sizeof(*v) * (n + 2));
		if (!nv)
			break;
		v = nv;
		v[n] = strdup(de->d_name);
		if (v[n])
			n++;
		v[n] = NULL;
	}
	closedir(d);
	*ids = v;
	return n;
}
