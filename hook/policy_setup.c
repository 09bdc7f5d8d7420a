// SPDX-License-Identifier: GPL-2.0-only
/* fusebox-hook: the policy annotations into the kernel. See policy_setup.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "audit_logger.h"
#include "cgroup.h"
#include "lsm_probe.h"
#include "oci.h"
#include "policy_fuseboxd.h"
#include "policy_load.h"
#include "policy_setup.h"
#include "util.h"

#define ERRLEN 1024

static const char *const policy_annotations[] = {
	FB_POLICY_ANNOTATION,
	FB_PROFILE_ANNOTATION,
	FB_PROGRAMS_ANNOTATION,
};

bool fb_policy_wanted(const json_t *ann)
{
	for (size_t i = 0; i < ARRAY_SIZE(policy_annotations); i++)
		if (ann && json_object_get(ann, policy_annotations[i]))
			return true;
	return false;
}

int fb_policy_req_parse(const struct fb_conf *conf, const json_t *ann, struct fb_policy_req *req,
			char *err, size_t errlen)
{
	_cleanup_policy_ struct fb_policy *profile = NULL, *annot = NULL;
	const char *profile_name = fb_annotation(ann, FB_PROFILE_ANNOTATION);
	const char *policy_json = fb_annotation(ann, FB_POLICY_ANNOTATION);
	const char *programs_json = fb_annotation(ann, FB_PROGRAMS_ANNOTATION);
	char inner[ERRLEN];
	int r;

	memset(req, 0, sizeof(*req));
	for (size_t i = 0; i < ARRAY_SIZE(policy_annotations); i++)
		if (json_object_get(ann, policy_annotations[i])) {
			req->annotation = policy_annotations[i];
			break;
		}
	if (profile_name) {
		r = fb_policy_load_profile(conf->policy_dir, profile_name, &profile, err, errlen);
		if (r < 0)
			return r;
	}
	if (policy_json) {
		r = fb_policy_parse(policy_json, strlen(policy_json), FB_POLICY_ANNOTATION, &annot,
				    err, errlen);
		if (r < 0)
			return r;
	}
	if (profile || annot) {
		r = fb_policy_combine(profile, annot, &req->policy, err, errlen);
		if (r < 0)
			return r;
	}
	if (programs_json) {
		r = fb_programs_parse(programs_json, &req->programs, err, errlen);
		if (r < 0)
			goto fail;
		for (size_t i = 0; i < req->programs.n; i++) {
			r = fb_program_check(conf->program_dir, req->programs.names[i], inner,
					     sizeof(inner));
			if (r < 0) {
				fb_errf(err, errlen, r,
					FB_PROGRAMS_ANNOTATION ": [%zu] \"%s\": %s (expected a program "
							       "the operator installed in %s)",
					i, req->programs.names[i], inner, conf->program_dir);
				goto fail;
			}
		}
	}
	return 0;
fail:
	fb_policy_req_free(req);
	return r;
}

void fb_policy_req_free(struct fb_policy_req *req)
{
	fb_policy_free(req->policy);
	req->policy = NULL;
	fb_programs_free(&req->programs);
	free(req->not_enforced);
	req->not_enforced = NULL;
}

/* Does BPF LSM run here? 1 yes, 0 no (why into detail), or -errno. */
static int bpf_lsm_runs(char *detail, size_t len)
{
	struct fb_policy_set set = FB_POLICY_SET_INIT;
	struct fb_lsm_probe why = { 0 };
	int r;

	detail[0] = '\0';
	/* A set pinned on this boot was probed before it was loaded. */
	if (fb_policy_set_open(&set) == 0) {
		fb_policy_set_close(&set);
		return 1;
	}
	r = fb_probe_bpf_lsm_why(&why);
	if (r != 0)
		return r;
	if (why.err)
		snprintf(detail, len, " (%s: %s)", why.stage, strerror(why.err));
	else if (why.stage)
		snprintf(detail, len, " (%s)",
			 streq(why.stage, "lsm-list") ? "bpf is not an active LSM"
						      : "programs attach but never run");
	return 0;
}

#define NO_BPF_LSM                                                                                 \
	"this kernel does not run BPF LSM programs%s, which enforce file-access policies; boot "  \
	"it with the bpf LSM enabled (kernel parameter lsm=...,bpf, CONFIG_BPF_LSM=y)"

int fb_policy_kernel_check(const struct fb_conf *conf, const struct fb_mounts *mounts,
			   struct fb_policy_req *req, char *err, size_t errlen)
{
	struct fb_policy_gaps gaps;
	char detail[128];
	int r;

	r = bpf_lsm_runs(detail, sizeof(detail));
	if (r < 0)
		return fb_errf(err, errlen, r, "%s: probing BPF LSM failed: %s", req->annotation,
			       strerror(-r));
	if (r == 1) {
		req->enforcement = FB_ENFORCE_BPF_LSM;
		return 0;
	}
	/* Operator programs are BPF LSM programs: nothing else can run them. */
	if (req->programs.n > 0 || !req->policy)
		return fb_errf(err, errlen, -EOPNOTSUPP,
			       FB_PROGRAMS_ANNOTATION ": " NO_BPF_LSM
			       "; refusing to start the container without its programs",
			       detail);
	fb_policy_fuseboxd_gaps(req->policy, mounts, &gaps);
	if (gaps.n == 0) {
		req->enforcement = FB_ENFORCE_FUSEBOXD;
		return 0;
	}
	if (!conf->degraded_enforcement)
		return fb_errf(err, errlen, -EOPNOTSUPP,
			       "%s: " NO_BPF_LSM ", and fuseboxd cannot enforce this policy on its "
			       "own: %s; refusing to start the container without its policy",
			       req->annotation, detail, gaps.first);
	req->not_enforced = strdup(gaps.all);
	if (!req->not_enforced)
		return -ENOMEM;
	req->enforcement = FB_ENFORCE_FUSEBOXD_DEGRADED;
	return 0;
}

int fb_policy_write_file(const struct fb_conf *conf, const char *id,
			 const struct fb_policy_req *req, char **file, char *err, size_t errlen)
{
	_cleanup_free_ char *text = NULL, *path = NULL;
	char dir[PATH_MAX];
	json_t *j;
	int r;

	r = fb_state_path(conf, id, dir, sizeof(dir));
	if (r < 0)
		return fb_errf(err, errlen, r, "state dir: %s", strerror(-r));
	if (asprintf(&path, "%s/" FB_POLICY_FILE, dir) < 0)
		return -ENOMEM;
	j = fb_policy_to_json(req->policy);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text)
		return -ENOMEM;
	r = write_file_atomic(path, text, strlen(text), 0600);
	if (r < 0)
		return fb_errf(err, errlen, r, "%s: %s", path, strerror(-r));
	*file = TAKE_PTR(path);
	return 0;
}

/* The container's root as its mount namespace sees it: /proc/PID/root + rootfs. */
static int open_container_root(pid_t pid, const char *rootfs, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, rootfs) >=
	    sizeof(path))
		return fb_errf(err, errlen, -ENAMETOOLONG, "root.path is too long");
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fb_errf(err, errlen, -errno, "container root %s: %s", path,
			       strerror(errno));
	return fd;
}

/* Compile the policy against the container's root, for its cgroup. */
static int compile(const struct fb_policy_req *req, pid_t pid, const char *rootfs,
		   const struct fb_cgroup *cg, struct fb_compiled **out, char *err, size_t errlen)
{
	_cleanup_close_ int rootfd = -1;
	struct fb_compiled *c = NULL;
	struct stat st;
	int r;

	rootfd = open_container_root(pid, rootfs, err, errlen);
	if (rootfd < 0)
		return rootfd;
	if (fstat(rootfd, &st) < 0)
		return fb_errf(err, errlen, -errno, "container root: %s", strerror(errno));
	r = fb_policy_compile(req->policy, cg->id, fb_resolve_in_root, &rootfd, &c, err, errlen);
	if (r < 0)
		return r;
	c->cfg.root_dev = fb_kdev(st.st_dev);
	c->cfg.root_ino = st.st_ino;
	c->cfg.level = cg->level;
	if (!c->cfg.root_dev) {
		fb_compiled_free(c);
		return fb_errf(err, errlen, -EOVERFLOW,
			       "container root: device %u:%u has no kernel encoding",
			       major(st.st_dev), minor(st.st_dev));
	}
	*out = c;
	return 0;
}

/* Under the node lock: the set, the container's entries, its programs. */
static int load(const struct fb_conf *conf, const struct fb_policy_req *req,
		const struct fb_compiled *c, int cgfd, __u64 cgid, char *err, size_t errlen)
{
	struct fb_policy_set set = FB_POLICY_SET_INIT;
	char inner[ERRLEN] = "";
	bool created;
	int r;

	if (c) {
		r = fb_policy_set_acquire(&set, &created, inner, sizeof(inner));
		/* Its reader before its first event (or again, if it died). */
		if (r == 0)
			r = fb_audit_logger_start(conf, inner, sizeof(inner));
		if (r == 0)
			r = fb_policy_set_insert(&set, c, inner, sizeof(inner));
		fb_policy_set_close(&set);
		if (r < 0)
			return fb_errf(err, errlen, r, "%s: %s", req->annotation, inner);
	}
	for (size_t i = 0; i < req->programs.n; i++) {
		unsigned int n_links = 0;

		r = fb_program_attach(conf->program_dir, req->programs.names[i], i, cgfd, cgid,
				      &n_links, inner, sizeof(inner));
		if (r < 0)
			return fb_errf(err, errlen, r, FB_PROGRAMS_ANNOTATION ": [%zu] \"%s\": %s",
				       i, req->programs.names[i], inner);
	}
	return 0;
}

int fb_policy_apply(const struct fb_conf *conf, const struct fb_policy_req *req, pid_t pid,
		    const char *rootfs, struct fb_state *st, char *err, size_t errlen)
{
	_cleanup_(fb_compiled_freep) struct fb_compiled *c = NULL;
	_cleanup_close_ int cgfd = -1;
	struct fb_cgroup cg = { 0 };
	char inner[ERRLEN] = "";
	int lock, r;

	r = fb_cgroup_of_pid(pid, &cg, &cgfd, inner, sizeof(inner));
	if (r < 0)
		return fb_errf(err, errlen, r, "%s: %s", req->annotation, inner);
	if (req->policy) {
		r = compile(req, pid, rootfs, &cg, &c, err, errlen);
		if (r < 0)
			goto out;
	}
	/* The undo goes to disk before the first kernel step. */
	st->policy.on = true;
	st->policy.cgroup_id = cg.id;
	st->policy.cgroup = TAKE_PTR(cg.dir);
	st->policy.n_programs = req->programs.n;
	r = fb_state_write(conf, st);
	if (r < 0) {
		fb_errf(err, errlen, r, "writing state: %s", strerror(-r));
		goto out;
	}
	lock = fb_policy_lock();
	if (lock < 0) {
		r = fb_errf(err, errlen, lock, "%s: %s", FB_POLICY_LOCK_FILE, strerror(-lock));
		goto out;
	}
	r = load(conf, req, c, cgfd, st->policy.cgroup_id, err, errlen);
	fb_policy_unlock(lock);
out:
	fb_cgroup_free(&cg);
	return r;
}
