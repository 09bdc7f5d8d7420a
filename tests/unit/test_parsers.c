// SPDX-License-Identifier: GPL-2.0-only
/* The hook's untrusted-input parsers: OCI state, config.json, fusebox.conf,
 * the fusebox.io/mounts annotation, canonical paths. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "conf.h"
#include "mounts.h"
#include "oci.h"
#include "path.h"
#include "util.h"

static char err[1024];

#define assert_err_contains(s) assert_non_null(strstr(err, (s)))

/* ---- paths -------------------------------------------------------------- */

static void canonical_paths_are_accepted(void **unused)
{
	const char *why;

	assert_int_equal(fb_path_check_abs("/", &why), 0);
	assert_int_equal(fb_path_check_abs("/data", &why), 0);
	assert_int_equal(fb_path_check_abs("/a/b.c/..d/.e", &why), 0);
}

static void non_canonical_paths_are_refused_with_reason(void **unused)
{
	static const struct {
		const char *path, *why;
	} cases[] = {
		{ "data", "absolute" },	     { "", "absolute" },
		{ "/a/../b", "'..'" },	     { "/a/./b", "'.'" },
		{ "/a//b", "'//'" },	     { "/a/", "end with" },
		{ "/..", "'..'" },	     { "/a\nb", "control" },
	};
	const char *why;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		why = NULL;
		assert_int_equal(fb_path_check_abs(cases[i].path, &why), -EINVAL);
		assert_non_null(strstr(why, cases[i].why));
	}
}

static void too_deep_and_too_long_paths_are_refused(void **unused)
{
	char deep[FB_PATH_MAX_DEPTH * 2 + 8] = "", *lng;
	const char *why;

	for (int i = 0; i <= FB_PATH_MAX_DEPTH; i++)
		strcat(deep, "/a");
	assert_int_equal(fb_path_check_abs(deep, &why), -EINVAL);
	lng = malloc(FB_PATH_MAX + 2);
	memset(lng, 'a', FB_PATH_MAX + 1);
	lng[0] = '/';
	lng[FB_PATH_MAX + 1] = '\0';
	assert_int_equal(fb_path_check_abs(lng, &why), -EINVAL);
	free(lng);
}

static void within_and_beneath_respect_component_boundaries(void **unused)
{
	assert_true(fb_path_is_within("/a/b", "/a"));
	assert_true(fb_path_is_within("/a", "/a"));
	assert_false(fb_path_is_within("/ab", "/a"));
	assert_true(fb_path_is_beneath("/a/b", "/a"));
	assert_false(fb_path_is_beneath("/a", "/a"));
	assert_true(fb_path_is_within("/x", "/"));
	assert_int_equal(fb_path_depth("/"), 0);
	assert_int_equal(fb_path_depth("/a/b/c"), 3);
}

/* ---- OCI state ---------------------------------------------------------- */

static void state_with_pid_and_annotations_parses(void **unused)
{
	const char *s = "{\"ociVersion\":\"1.0.2\",\"id\":\"abc-1\",\"status\":\"created\","
			"\"pid\":4242,\"bundle\":\"/b\",\"annotations\":{\"fusebox.io/mounts\":\"[]\"}}";
	struct fb_oci_state st;

	assert_int_equal(fb_oci_state_parse(s, strlen(s), &st, err, sizeof(err)), 0);
	assert_string_equal(st.id, "abc-1");
	assert_int_equal(st.pid, 4242);
	assert_string_equal(st.bundle, "/b");
	assert_true(fb_annotations_want_fusebox(st.annotations));
	assert_string_equal(fb_annotation(st.annotations, "fusebox.io/mounts"), "[]");
	fb_oci_state_free(&st);
}

static void poststop_states_without_pid_parse(void **unused)
{
	/* runc omits pid, crun sends 0, podman sends null. */
	const char *v[] = { "{\"id\":\"a\"}", "{\"id\":\"a\",\"pid\":0}", "{\"id\":\"a\",\"pid\":null}" };
	struct fb_oci_state st;

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		assert_int_equal(fb_oci_state_parse(v[i], strlen(v[i]), &st, err, sizeof(err)), 0);
		assert_int_equal(st.pid, 0);
		assert_false(fb_annotations_want_fusebox(st.annotations));
		fb_oci_state_free(&st);
	}
}

static void bad_states_are_refused(void **unused)
{
	static const struct {
		const char *json, *msg;
	} cases[] = {
		{ "{", "invalid JSON" },
		{ "[]", "expected a JSON object" },
		{ "{\"status\":\"created\"}", "missing \"id\"" },
		{ "{\"id\":\"../../etc\"}", "not a valid container id" },
		{ "{\"id\":\"a/b\"}", "not a valid container id" },
		{ "{\"id\":\".hidden\"}", "not a valid container id" },
		{ "{\"id\":\"a\",\"pid\":-1}", "\"pid\" must be a pid" },
		{ "{\"id\":\"a\",\"pid\":\"12\"}", "\"pid\" must be a pid" },
		{ "{\"id\":\"a\",\"bundle\":\"rel\"}", "bundle \"rel\"" },
		{ "{\"id\":\"a\",\"annotations\":[]}", "\"annotations\" must be an object" },
		{ "{\"id\":\"a\",\"id\":\"b\"}", "invalid JSON" },
	};
	struct fb_oci_state st;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		err[0] = '\0';
		assert_true(fb_oci_state_parse(cases[i].json, strlen(cases[i].json), &st, err,
					       sizeof(err)) < 0);
		assert_err_contains(cases[i].msg);
	}
}

/* ---- config.json -------------------------------------------------------- */

static void config_relative_root_resolves_against_bundle(void **unused)
{
	const char *c = "{\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
			"\"linux\":{\"cgroupsPath\":\"/x/y\"},\"annotations\":{\"k\":\"v\"}}";
	struct fb_oci_config cfg;

	assert_int_equal(fb_oci_config_parse(c, strlen(c), "/run/b", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.root_path, "/run/b/rootfs");
	assert_true(cfg.root_readonly);
	assert_string_equal(cfg.cgroups_path, "/x/y");
	assert_string_equal(fb_annotation(cfg.annotations, "k"), "v");
	fb_oci_config_free(&cfg);
}

static void config_absolute_root_is_kept_and_missing_root_refused(void **unused)
{
	const char *c = "{\"root\":{\"path\":\"/abs/rootfs\"}}";
	const char *bad = "{\"process\":{}}";
	struct fb_oci_config cfg;

	assert_int_equal(fb_oci_config_parse(c, strlen(c), "/b", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.root_path, "/abs/rootfs");
	assert_null(cfg.annotations);
	fb_oci_config_free(&cfg);
	assert_true(fb_oci_config_parse(bad, strlen(bad), "/b", &cfg, err, sizeof(err)) < 0);
	assert_err_contains("missing \"root\"");
}

/* ---- fusebox.conf ------------------------------------------------------- */

static void conf_parses_keys_comments_and_repeats(void **unused)
{
	const char *t = "# comment\n\nlower_root = /l1\nlower_root=/l2 # trailing\n"
			"state_dir = /tmp/st\nfuseboxd = /opt/fuseboxd\n"
			"degraded_enforcement = yes\nready_timeout_ms = 250\nlog_keep = 7\n"
			"fuseboxd_spin_us = 0\nfuseboxd_prefetch = 4096\n";
	struct fb_conf conf;

	assert_int_equal(fb_conf_defaults(&conf), 0);
	assert_int_equal(fb_conf_parse(t, "t.conf", &conf, err, sizeof(err)), 0);
	assert_int_equal(conf.n_lower_roots, 2);
	assert_string_equal(conf.lower_roots[0], "/l1");
	assert_string_equal(conf.lower_roots[1], "/l2");
	assert_string_equal(conf.state_dir, "/tmp/st");
	assert_string_equal(conf.fuseboxd, "/opt/fuseboxd");
	assert_true(conf.degraded_enforcement);
	assert_int_equal(conf.ready_timeout_ms, 250);
	assert_int_equal(conf.log_keep, 7);
	assert_int_equal(conf.fuseboxd_spin_us, 0);
	assert_int_equal(conf.fuseboxd_prefetch, 4096);
	fb_conf_free(&conf);
	/* Unset, the daemons keep their own defaults. */
	assert_int_equal(fb_conf_defaults(&conf), 0);
	assert_int_equal(conf.fuseboxd_spin_us, -1);
	assert_int_equal(conf.fuseboxd_prefetch, -1);
	fb_conf_free(&conf);
}

static void conf_errors_name_file_line_and_key(void **unused)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "lower_root /x\n", "t.conf:1: expected \"key = value\"" },
		{ "\n\nbogus = 1\n", "t.conf:3: unknown key \"bogus\"" },
		{ "lower_root = rel\n", "t.conf:1: lower_root: \"rel\" must be an absolute path" },
		{ "degraded_enforcement = maybe\n", "(expected yes or no)" },
		{ "ready_timeout_ms = 5\n", "expected 100..60000" },
		{ "log_keep = 0\n", "t.conf:1: log_keep: \"0\" (expected 1..1000000)" },
		{ "log_keep = 12x\n", "log_keep: \"12x\"" },
		{ "fuseboxd_spin_us = 1001\n", "t.conf:1: fuseboxd_spin_us: \"1001\" (expected 0..1000)" },
		{ "fuseboxd_prefetch = -1\n", "fuseboxd_prefetch: \"-1\" (expected 0..4096)" },
		{ "state_dir =\n", "state_dir: empty value" },
	};
	struct fb_conf conf;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		fb_conf_defaults(&conf);
		err[0] = '\0';
		assert_true(fb_conf_parse(cases[i].text, "t.conf", &conf, err, sizeof(err)) < 0);
		assert_err_contains(cases[i].msg);
		fb_conf_free(&conf);
	}
}

static void conf_missing_default_gives_defaults_but_named_file_must_exist(void **unused)
{
	struct fb_conf conf;

	assert_true(fb_conf_load("/nonexistent/fusebox.conf", &conf, err, sizeof(err)) < 0);
	assert_err_contains("/nonexistent/fusebox.conf");
	fb_conf_free(&conf);
}

/* ---- fusebox.io/mounts -------------------------------------------------- */

static char tmpdir[PATH_MAX];

static int make_tree(void **unused)
{
	char p[PATH_MAX + 64];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fb-unit.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(p, sizeof(p), "%s/layers", tmpdir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/layers/a", tmpdir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/layers/file", tmpdir);
	close(open(p, O_CREAT | O_WRONLY, 0644));
	snprintf(p, sizeof(p), "%s/outside", tmpdir);
	mkdir(p, 0755);
	return 0;
}

static int remove_tree(void **unused)
{
	return rm_rf_at(AT_FDCWD, tmpdir);
}

static void mounts_annotation_parses_into_specs(void **unused)
{
	const char *j = "[{\"target\":\"/data\",\"lower\":[\"/l/top\",\"/l/base\"],\"upper\":\"none\"},"
			"{\"target\":\"/cache\",\"lower\":[\"/l/c\"],\"upper\":\"ephemeral\"},"
			"{\"target\":\"/keep\",\"lower\":[\"/l/c\"],\"upper\":\"/u/keep\","
			"\"data\":\"cached\"},"
			"{\"target\":\"/ro\",\"lower\":[\"/l/c\"],\"data\":\"passthrough\"}]";
	struct fb_mounts m;

	assert_int_equal(fb_mounts_parse(j, &m, err, sizeof(err)), 0);
	assert_int_equal(m.n, 4);
	assert_string_equal(m.m[0].target, "/data");
	assert_int_equal(m.m[0].n_lower, 2);
	assert_string_equal(m.m[0].lower[0], "/l/top");
	assert_int_equal(m.m[0].upper_kind, FB_UPPER_NONE);
	assert_int_equal(m.m[1].upper_kind, FB_UPPER_EPHEMERAL);
	assert_int_equal(m.m[2].upper_kind, FB_UPPER_PATH);
	assert_string_equal(m.m[2].upper, "/u/keep");
	assert_int_equal(m.m[3].upper_kind, FB_UPPER_NONE);
	assert_int_equal(m.m[0].data, FB_DATA_PASSTHROUGH);
	assert_int_equal(m.m[2].data, FB_DATA_CACHED);
	assert_int_equal(m.m[3].data, FB_DATA_PASSTHROUGH);
	fb_mounts_free(&m);
}

static void bad_mounts_annotations_name_the_field(void **unused)
{
	static const struct {
		const char *json, *msg;
	} cases[] = {
		{ "[{\"target\":", "invalid JSON" },
		{ "{}", "expected a non-empty JSON list" },
		{ "[]", "expected a non-empty JSON list" },
		{ "[1]", "[0]: expected an object" },
		{ "[{\"lower\":[\"/l\"]}]", "[0]: missing \"target\"" },
		{ "[{\"target\":\"/d\",\"lower\":[\"/l\"],\"extra\":1}]", "unknown key \"extra\"" },
		{ "[{\"target\":\"d\",\"lower\":[\"/l\"]}]", "[0].target: \"d\" must be an absolute" },
		{ "[{\"target\":\"/\",\"lower\":[\"/l\"]}]", "container root" },
		{ "[{\"target\":\"/d/../e\",\"lower\":[\"/l\"]}]", "'..'" },
		{ "[{\"target\":\"/d\",\"lower\":[]}]", "[0].lower: expected a non-empty list" },
		{ "[{\"target\":\"/d\",\"lower\":\"/l\"}]", "[0].lower: expected a non-empty list" },
		{ "[{\"target\":\"/d\",\"lower\":[\"/l\",\"x\"]}]", "[0].lower[1]: \"x\" must be" },
		{ "[{\"target\":\"/d\",\"lower\":[5]}]", "[0].lower[0]: expected a string" },
		{ "[{\"target\":\"/d\",\"lower\":[\"/l\"],\"upper\":\"rw\"}]", "[0].upper: expected" },
		{ "[{\"target\":\"/d\",\"lower\":[\"/l\"],\"data\":\"fast\"}]",
		  "[0].data: expected \"passthrough\" or \"cached\"" },
		{ "[{\"target\":\"/d\",\"lower\":[\"/l\"]},{\"target\":\"/d/e\",\"lower\":[\"/l\"]}]",
		  "[1].target \"/d/e\" is inside [0].target \"/d\"" },
		{ "[{\"target\":\"/d\",\"lower\":[\"/l\"]},{\"target\":\"/d\",\"lower\":[\"/l\"]}]",
		  "repeats" },
		{ "[{\"target\":\"/d\",\"target\":\"/e\",\"lower\":[\"/l\"]}]", "invalid JSON" },
	};
	struct fb_mounts m;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		err[0] = '\0';
		assert_true(fb_mounts_parse(cases[i].json, &m, err, sizeof(err)) < 0);
		assert_non_null(strstr(err, "fusebox.io/mounts: "));
		if (!strstr(err, cases[i].msg))
			fail_msg("case %zu: \"%s\" not in \"%s\"", i, cases[i].msg, err);
	}
}

static void too_many_mounts_are_refused(void **unused)
{
	char j[8192] = "[";
	struct fb_mounts m;

	for (int i = 0; i <= FB_MOUNTS_MAX; i++)
		snprintf(j + strlen(j), sizeof(j) - strlen(j),
			 "%s{\"target\":\"/d%d\",\"lower\":[\"/l\"]}", i ? "," : "", i);
	strcat(j, "]");
	assert_true(fb_mounts_parse(j, &m, err, sizeof(err)) < 0);
	assert_err_contains("at most 16 mounts");
}

static int check_one(const char *lower, struct fb_mounts *m)
{
	char j[PATH_MAX * 2];
	struct fb_conf conf;
	int r;

	snprintf(j, sizeof(j), "[{\"target\":\"/d\",\"lower\":[\"%s\"]}]", lower);
	if (fb_mounts_parse(j, m, err, sizeof(err)) < 0)
		return -1000;
	fb_conf_defaults(&conf);
	snprintf(j, sizeof(j), "lower_root = %s/layers\n", tmpdir);
	fb_conf_parse(j, "t.conf", &conf, err, sizeof(err));
	r = fb_mounts_check(m, &conf, err, sizeof(err));
	fb_conf_free(&conf);
	return r;
}

static void lowers_must_be_directories_beneath_an_allowed_root(void **unused)
{
	char p[PATH_MAX + 64], link[PATH_MAX + 64];
	struct fb_mounts m;

	snprintf(p, sizeof(p), "%s/layers/a", tmpdir);
	assert_int_equal(check_one(p, &m), 0);
	assert_string_equal(m.m[0].lower[0], p);
	fb_mounts_free(&m);

	snprintf(p, sizeof(p), "%s/outside", tmpdir);
	assert_int_equal(check_one(p, &m), -EPERM);
	assert_err_contains("is outside the allowed lower_roots");
	fb_mounts_free(&m);

	snprintf(p, sizeof(p), "%s/layers", tmpdir); /* the root itself is not a layer */
	assert_int_equal(check_one(p, &m), -EPERM);
	fb_mounts_free(&m);

	snprintf(p, sizeof(p), "%s/layers/file", tmpdir);
	assert_int_equal(check_one(p, &m), -ENOTDIR);
	assert_err_contains("is not a directory");
	fb_mounts_free(&m);

	snprintf(p, sizeof(p), "%s/layers/missing", tmpdir);
	assert_int_equal(check_one(p, &m), -ENOENT);
	assert_err_contains("No such file or directory");
	fb_mounts_free(&m);

	/* A symlink inside the root that points out of it is judged by its target. */
	snprintf(p, sizeof(p), "%s/outside", tmpdir);
	snprintf(link, sizeof(link), "%s/layers/escape", tmpdir);
	assert_int_equal(symlink(p, link), 0);
	assert_int_equal(check_one(link, &m), -EPERM);
	fb_mounts_free(&m);
}

/* ---- util --------------------------------------------------------------- */

static void starttime_matches_proc_stat(void **unused)
{
	unsigned long long st = 0, expect = 0;
	char path[64];
	FILE *f;

	assert_int_equal(proc_starttime(getpid(), &st), 0);
	snprintf(path, sizeof(path), "/proc/%d/stat", getpid());
	f = fopen(path, "r");
	assert_non_null(f);
	/* Our comm has no spaces, so a plain field scan is a fair reference. */
	assert_int_equal(fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
				   "%*d %*d %*d %*d %*d %*d %llu",
				&expect),
			 1);
	fclose(f);
	assert_true(expect > 0);
	assert_int_equal(st, expect);
	assert_int_equal(proc_starttime(999999999, &st), -ENOENT);
}

static void read_full_fd_enforces_its_limit(void **unused)
{
	int p[2];
	char *out = NULL;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "0123456789", 10), 10);
	close(p[1]);
	assert_int_equal(read_full_fd(p[0], 9, &out), -EFBIG);
	close(p[0]);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "0123456789", 10), 10);
	close(p[1]);
	assert_int_equal(read_full_fd(p[0], 10, &out), 10);
	assert_string_equal(out, "0123456789");
	free(out);
	close(p[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(canonical_paths_are_accepted),
		cmocka_unit_test(non_canonical_paths_are_refused_with_reason),
		cmocka_unit_test(too_deep_and_too_long_paths_are_refused),
		cmocka_unit_test(within_and_beneath_respect_component_boundaries),
		cmocka_unit_test(state_with_pid_and_annotations_parses),
		cmocka_unit_test(poststop_states_without_pid_parse),
		cmocka_unit_test(bad_states_are_refused),
		cmocka_unit_test(config_relative_root_resolves_against_bundle),
		cmocka_unit_test(config_absolute_root_is_kept_and_missing_root_refused),
		cmocka_unit_test(conf_parses_keys_comments_and_repeats),
		cmocka_unit_test(conf_errors_name_file_line_and_key),
		cmocka_unit_test(conf_missing_default_gives_defaults_but_named_file_must_exist),
		cmocka_unit_test(mounts_annotation_parses_into_specs),
		cmocka_unit_test(bad_mounts_annotations_name_the_field),
		cmocka_unit_test(too_many_mounts_are_refused),
		cmocka_unit_test_setup_teardown(lowers_must_be_directories_beneath_an_allowed_root,
						make_tree, remove_tree),
		cmocka_unit_test(starttime_matches_proc_stat),
		cmocka_unit_test(read_full_fd_enforces_its_limit),
	};

	return cmocka_run_group_tests_name("parsers", tests, NULL, NULL);
}
