// SPDX-License-Identifier: GPL-2.0-only
/* fuseboxctl status / cleanup: the per-container state the hook keeps. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <bpf/bpf.h>

#include "conf.h"
#include "ctl.h"
#include "policy_load.h"
#include "state.h"
#include "util.h"

static int parse_common(int argc, char **argv, const char **config)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{},
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (c != 'c')
			return -EINVAL;
		*config = optarg;
	}
	return optind;
}

static bool daemon_alive(const struct fb_state_mount *m)
{
	unsigned long long start;

	return m->daemon_pid > 0 && proc_starttime(m->daemon_pid, &start) == 0 &&
	       start == m->daemon_start;
}

static int show_one(const struct fb_conf *conf, const char *id)
{
	struct fb_state st;
	char err[512] = "";
	int r = fb_state_read(conf, id, &st, err, sizeof(err));

	if (r == -ENOENT) {
		printf("%s\tno state file (setup incomplete)\n", id);
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "fuseboxctl: %s: %s\n", id, err[0] ? err : strerror(-r));
		return r;
	}
	printf("%s\tpid %d\trootfs %s\n", id, st.container_pid, strna(st.rootfs));
	for (size_t i = 0; i < st.n; i++)
		printf("  %s\tfuseboxd %d (%s)\n", st.m[i].target, st.m[i].daemon_pid,
		       daemon_alive(&st.m[i]) ? "running" : "gone");
	switch (st.enforcement) {
	case FB_ENFORCE_NONE:
		break;
	case FB_ENFORCE_BPF_LSM:
		printf("  policy: enforced by bpf-lsm\n");
		break;
	case FB_ENFORCE_FUSEBOXD:
		printf("  policy: enforced by fuseboxd (no BPF LSM; every rule is inside the "
		       "fusebox mounts)\n");
		break;
	case FB_ENFORCE_FUSEBOXD_DEGRADED:
		printf("  policy: enforced by fuseboxd-degraded (no BPF LSM; only inside the fusebox "
		       "mounts)\n  policy: NOT enforced: %s\n",
		       strna(st.not_enforced));
		break;
	}
	if (st.policy.on) {
		struct fb_policy_set set = FB_POLICY_SET_INIT;
		struct fb_policy_cfg cfg;
		__u64 key = st.policy.cgroup_id;

		printf("  policy: cgroup %s (id %llu), %u program%s\n", strna(st.policy.cgroup),
		       st.policy.cgroup_id, st.policy.n_programs, st.policy.n_programs == 1 ? "" : "s");
		/* Events the kernel could not queue: never silently lost. */
		if (fb_policy_set_open(&set) == 0) {
			if (bpf_map_lookup_elem(set.cfg_fd, &key, &cfg) == 0)
				printf("  policy: %s, audit events dropped: %llu\n",
				       cfg.mode == FB_MODE_AUDIT ? "audit" : "enforce",
				       (unsigned long long)cfg.dropped);
			fb_policy_set_close(&set);
		}
	}
	fb_state_free(&st);
	return 0;
}

int ctl_status(int argc, char **argv)
{
	const char *config = NULL;
	struct fb_conf conf;
	char err[512];
	char **ids = NULL;
	int first, n, r = 0;

	first = parse_common(argc, argv, &config);
	if (first < 0 || argc - first > 1) {
		fprintf(stderr, "usage: fuseboxctl status [--config FILE] [ID]\n");
		return 2;
	}
	if (fb_conf_load(config, &conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuseboxctl: %s\n", err);
		return 1;
	}
	if (argc - first == 1) {
		r = show_one(&conf, argv[first]);
		goto out;
	}
	n = fb_state_list(&conf, &ids);
	if (n < 0) {
		fprintf(stderr, "fuseboxctl: %s: %s\n", conf.state_dir, strerror(-n));
		r = n;
		goto out;
	}
	if (n == 0)
		printf("no containers\n");
	for (int i = 0; i < n; i++) {
		if (show_one(&conf, ids[i]) < 0)
			r = -1;
		free(ids[i]);
	}
	free(ids);
out:
	fb_conf_free(&conf);
	return r < 0 ? 1 : 0;
}

int ctl_cleanup(int argc, char **argv)
{
	const char *config = NULL;
	struct fb_conf conf;
	char err[512] = "";
	int first, r;

	first = parse_common(argc, argv, &config);
	if (first < 0 || argc - first != 1) {
		fprintf(stderr, "usage: fuseboxctl cleanup [--config FILE] ID\n");
		return 2;
	}
	if (fb_conf_load(config, &conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuseboxctl: %s\n", err);
		return 1;
	}
	r = fb_teardown(&conf, argv[first], fb_policy_undo, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "fuseboxctl: %s: %s\n", argv[first], err[0] ? err : strerror(-r));
	fb_conf_free(&conf);
	return r < 0 ? 1 : 0;
}
